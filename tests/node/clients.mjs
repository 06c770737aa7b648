// Node Redis clients against a running spouge server: node clients.mjs <port>
// Prints one JSON object with what each client got; tests/test_redis_clients.py checks it.
import Redis from "ioredis";
import { createClient } from "redis";

const port = Number(process.argv[2]);
const out = {};
const errorText = (e) => String(e && e.message ? e.message : e);

async function withIoredis() {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: true });
  await r.connect();  // ioredis's ready check reads INFO's "loading" field
  const got = {};
  got.gamma = await r.call("GAMMA", "0.5", "30");
  got.beta_enclosure = await r.call("BETA", "0.5", "0.5", "ROUNDING", "enclosure");
  got.multi = await r.multi().call("GAMMA", "0.5", "30").call("BINOMIAL", "10", "3").call("GAMMA", "-1").ping().exec();
  got.multi = got.multi.map(([err, value]) => (err ? { error: errorText(err) } : value));
  try { await r.call("GAMMA", "-1"); } catch (e) { got.pole = errorText(e); }
  try { await r.multi().call("NOSUCH").call("GAMMA", "1").exec(); } catch (e) { got.execabort = errorText(e); }
  got.pipeline = (await r.pipeline().call("FACTORIAL", "10", "5").call("RGAMMA", "-3").exec()).map(([err, v]) => v);
  const info = await r.info("stats");
  got.info_has_commands = /total_commands_processed:\d+/.test(info);
  got.config = await r.config("GET", "maxclients");
  await r.quit();
  return got;
}

async function withNodeRedis(RESP) {
  const c = createClient({ socket: { port, host: "127.0.0.1", reconnectStrategy: false }, RESP });
  c.on("error", () => {});
  await c.connect();
  const got = {};
  got.gamma = await c.sendCommand(["GAMMA", "0.5", "30"]);
  got.lgamma_sign = await c.sendCommand(["LGAMMA", "-2.5", "WITHSIGN"]);
  const multi = c.multi();
  multi.addCommand(["GAMMA", "0.5", "30"]);
  multi.addCommand(["FALLING", "10", "3"]);
  multi.addCommand(["PING"]);
  got.multi = await multi.exec();
  try { await c.sendCommand(["GAMMA", "-1"]); } catch (e) { got.pole = errorText(e); }
  got.command_count = await c.sendCommand(["COMMAND", "COUNT"]);
  got.info_has_memory = /used_memory:\d+/.test(await c.sendCommand(["INFO", "memory"]));
  await c.quit();
  return got;
}

try {
  out.ioredis = await withIoredis();
  out.redis_resp2 = await withNodeRedis(2);
  out.redis_resp3 = await withNodeRedis(3);
} catch (e) {
  out.failure = errorText(e) + "\n" + (e && e.stack ? e.stack : "");
}
console.log(JSON.stringify(out));
process.exit(0);
