/* spouge._core: one pass of Spouge's formula for a real argument, in C.
 *
 * Owns: the hot path of a real gamma/lgamma pass, mirroring (value for
 * value where it matters) the pure-Python engine:
 *   - the coefficient table C_k = round(c_k 2^F), |c_k 2^F - C_k| <= 1 checked
 *     on Arb's ball exactly as coefficients.iter_coefficients does, same
 *     per-coefficient precisions; tables cached per (a, F) in an LRU bounded
 *     by total bits (CACHE_BUDGET_BITS, as in Python); larger ones streamed;
 *   - the fixed-point sum (engine._real_sum): floor divisions in GMP with the
 *     same proven error (2a units, or a*q + a when q < 2^64 is factored out);
 *   - the Arb enclosure of ln z!, the 0 < x < 1 and reflection paths
 *     (functions._ln_abs_gamma), and the rounding decision
 *     (rounding.round_from_log for gamma, rounding.round_ball for lgamma):
 *     a result only when every point of the ball rounds to it; a ball that
 *     straddles 10^E decides 10^E only under the same strict rule; ties are
 *     never decided from a ball.
 * Python keeps the Ziv loop, planning, exact integer ties, long-denominator
 * rounding of z and everything complex.
 *
 * Builds against FLINT 2.9 + separate Arb 2.23 (<arb.h>, -lflint-arb or -larb)
 * and FLINT 3 (<flint/arb.h>, -lflint).  No library gamma is used.
 * The GIL is held throughout (the table cache is process-global, unlocked).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#include <gmp.h>

#if defined(__has_include)
#  if __has_include(<flint/arb.h>)
#    include <flint/flint.h>
#    include <flint/fmpz.h>
#    include <flint/arb.h>
#    define SPOUGE_FLINT3 1
#  else
#    include <flint/flint.h>
#    include <flint/fmpz.h>
#    include <arb.h>
#  endif
#else
#  include <flint/flint.h>
#  include <flint/fmpz.h>
#  include <arb.h>
#endif

/* ---- constants shared with the Python engine (see engine.py / coefficients.py) ---- */
#define SUM_GUARD_BITS 24
#define Q_HEADROOM_BITS 64
#define COEFF_GUARD_BITS 30
#define MIN_A 3
#define CACHE_BUDGET_BITS (8.0 * 160.0 * 1048576.0)

static double LOG2_2PI, LOG2_E;

static double log2_truncation_bound(slong a)
{
    return -0.5 * log2((double) a) - ((double) a + 0.5) * LOG2_2PI;
}

static slong choose_a(slong bits)
{
    slong a = (slong) ceil((double) bits / LOG2_2PI) - 2;
    if (a < MIN_A) a = MIN_A;
    while (log2_truncation_bound(a) > -(double) bits) a++;
    while (a > MIN_A && log2_truncation_bound(a - 1) <= -(double) bits) a--;
    return a;
}

static slong bit_length_si(slong v)
{
    slong n = 0;
    ulong u = v < 0 ? -(ulong) v : (ulong) v;
    while (u) { n++; u >>= 1; }
    return n;
}

/* ---------------- coefficients ---------------- */

typedef struct {
    slong a, F, k, slack;
    double *sizes, *top;
    arb_t running, inv_e;
} coeff_gen;

/* round(value 2^F) into out if the ball is within 1/2 unit; 0 if too wide. */
static int to_fixed(mpz_t out, const arb_t value, slong F)
{
    fmpz_t man, exp;
    int ok = 1;
    fmpz_init(man); fmpz_init(exp);
    if (!mag_is_zero(arb_radref(value))) {
        arf_t r;
        arf_init(r);
        arf_set_mag(r, arb_radref(value));
        arf_get_fmpz_2exp(man, exp, r);
        arf_clear(r);
        /* bit_length(rad_man) + rad_exp + F > -1  -> too wide */
        fmpz_add_si(exp, exp, (slong) fmpz_bits(man) + F + 1);
        if (fmpz_sgn(exp) > 0) ok = 0;
    }
    if (ok) {
        arf_get_fmpz_2exp(man, exp, arb_midref(value));
        fmpz_add_si(exp, exp, F);  /* shift */
        fmpz_get_mpz(out, man);
        if (fmpz_sgn(exp) >= 0) {
            mpz_mul_2exp(out, out, fmpz_get_ui(exp));
        } else {
            fmpz_neg(exp, exp);
            ulong sh = fmpz_get_ui(exp);
            mpz_t half;
            mpz_init_set_ui(half, 1);
            mpz_mul_2exp(half, half, sh - 1);
            mpz_add(out, out, half);
            mpz_fdiv_q_2exp(out, out, sh);
            mpz_clear(half);
        }
    }
    fmpz_clear(man); fmpz_clear(exp);
    return ok;
}

static int gen_init(coeff_gen *g, slong a, slong F, mpz_t c0)
{
    slong k, prec;
    double log_fact = 0.0, top = 0.0;
    arb_t t;
    g->a = a; g->F = F; g->k = 1;
    g->sizes = (double *) flint_malloc(sizeof(double) * a);
    g->top = (double *) flint_malloc(sizeof(double) * a);
    g->sizes[0] = 0.5 * LOG2_2PI;
    for (k = 1; k < a; k++) {
        slong j = a - k;
        g->sizes[k] = ((k - 0.5) * log((double) j) + j - log_fact) * LOG2_E;
        log_fact += log((double) k);
    }
    for (k = 0; k < a; k++) { g->top[k] = g->sizes[k]; if (g->sizes[k] > top) top = g->sizes[k]; }
    for (k = a - 2; k >= 1; k--) if (g->top[k + 1] > g->top[k]) g->top[k] = g->top[k + 1];
    g->slack = COEFF_GUARD_BITS + bit_length_si(a) + 8;
    prec = F + (slong) top + g->slack;
    arb_init(g->running); arb_init(g->inv_e); arb_init(t);
    arb_const_pi(t, prec);
    arb_mul_2exp_si(t, t, 1);
    arb_sqrt(t, t, prec);
    if (!to_fixed(c0, t, F)) { arb_clear(t); return 0; }
    arb_set_si(g->inv_e, -1);
    arb_exp(g->inv_e, g->inv_e, prec);
    arb_set_si(g->running, a - 1);
    arb_exp(g->running, g->running, prec);
    arb_clear(t);
    return 1;
}

/* The next coefficient C_k (k = g->k), then advance. */
static void gen_next(coeff_gen *g, mpz_t out)
{
    slong k = g->k, a = g->a, j = a - k, extra = COEFF_GUARD_BITS, prec;
    arb_t base, c, r;
    arb_init(base); arb_init(c); arb_init(r);
    for (;;) {
        prec = g->F + (slong) ceil(g->sizes[k]) + extra;
        if (prec < 64) prec = 64;
        arb_set_si(base, j);
        arb_pow_ui(c, base, (ulong) k, prec);
        arb_rsqrt(r, base, prec);
        arb_mul(c, c, r, prec);
        arb_mul(c, c, g->running, prec);
        if (to_fixed(out, c, g->F)) break;
        extra += 64;
    }
    if (k % 2 == 0) mpz_neg(out, out);
    if (k + 1 < a) {
        prec = g->F + (slong) ceil(g->top[k + 1]) + g->slack;
        if (prec < 64) prec = 64;
        arb_mul(g->running, g->running, g->inv_e, prec);
        arb_div_ui(g->running, g->running, (ulong) k, prec);
    }
    g->k++;
    arb_clear(base); arb_clear(c); arb_clear(r);
}

static void gen_clear(coeff_gen *g)
{
    flint_free(g->sizes); flint_free(g->top);
    arb_clear(g->running); arb_clear(g->inv_e);
}

typedef struct table {
    slong a, F;
    double bits;
    mpz_t *c;
    struct table *prev, *next;  /* LRU list, head = most recent */
} table;

static table *lru_head = NULL;
static double lru_bits = 0.0;
static long cache_hits = 0, cache_misses = 0, cache_streams = 0;

static double estimated_bits(slong a, slong F)
{
    return (double) a * ((double) F + (double) (slong) (0.6 * a * 3.321928094887362));
}

static void table_free(table *t)
{
    slong k;
    for (k = 0; k < t->a; k++) mpz_clear(t->c[k]);
    flint_free(t->c);
    flint_free(t);
}

static void lru_unlink(table *t)
{
    if (t->prev) t->prev->next = t->next; else lru_head = t->next;
    if (t->next) t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void lru_push(table *t)
{
    t->prev = NULL; t->next = lru_head;
    if (lru_head) lru_head->prev = t;
    lru_head = t;
}

/* Cached table for (a, F), building it if needed; NULL if too big to keep or on failure. */
static table *get_table(slong a, slong F, int *too_big)
{
    table *t;
    coeff_gen g;
    slong k;
    *too_big = 0;
    for (t = lru_head; t; t = t->next) {
        if (t->a == a && t->F == F) {
            cache_hits++;
            lru_unlink(t); lru_push(t);
            return t;
        }
    }
    cache_misses++;
    if (estimated_bits(a, F) > CACHE_BUDGET_BITS) { *too_big = 1; return NULL; }
    t = (table *) flint_malloc(sizeof(table));
    t->a = a; t->F = F; t->bits = 0.0;
    t->c = (mpz_t *) flint_malloc(sizeof(mpz_t) * a);
    for (k = 0; k < a; k++) mpz_init(t->c[k]);
    if (!gen_init(&g, a, F, t->c[0])) { gen_clear(&g); table_free(t); return NULL; }
    for (k = 1; k < a; k++) gen_next(&g, t->c[k]);
    gen_clear(&g);
    for (k = 0; k < a; k++) t->bits += (double) mpz_sizeinbase(t->c[k], 2);
    lru_push(t);
    lru_bits += t->bits;
    while (lru_bits > CACHE_BUDGET_BITS && lru_head && lru_head->next) {
        table *last = lru_head;
        while (last->next) last = last->next;
        lru_unlink(last);
        lru_bits -= last->bits;
        table_free(last);
    }
    return t;
}

/* ---------------- the sum and ln z! ---------------- */

/* ---------------- division by single limbs, four at a time ----------------
 * GMP's mpn_divrem_1 is latency-bound (one 2-by-1 step per limb, each waiting on
 * the previous remainder); measured at 61% of a 1000-digit pass.  Four independent
 * quotients stepped in lockstep keep the multiplier busy.  Each step is Moller and
 * Granlund's 2-by-1 division with a precomputed reciprocal ("Improved division by
 * invariant integers", 2011, Algorithm 4); quotients are exact floors, the same
 * numbers mpz_fdiv_q_ui gives.
 */
typedef unsigned __int128 u128;

typedef struct {
    const mp_limb_t *np;   /* |numerator| limbs */
    mp_size_t n;
    mp_limb_t dn, v, r;    /* normalized divisor, its reciprocal, running remainder (shifted) */
    unsigned s;            /* normalization shift */
    mp_limb_t *qp;         /* quotient limbs, n of them */
} div_chain;

static inline void chain_init(div_chain *c, const mp_limb_t *np, mp_size_t n, mp_limb_t d, mp_limb_t *qp)
{
    c->np = np; c->n = n; c->qp = qp;
    c->s = (unsigned) __builtin_clzll(d);
    c->dn = d << c->s;
    c->v = (mp_limb_t) ((((u128) ~c->dn) << 64 | ~(mp_limb_t) 0) / c->dn);
    c->r = n ? (np[n - 1] >> (63 - c->s)) >> 1 : 0;
}

/* One 2-by-1 step: (u1, u0) / dn with u1 < dn; q, r out.  Branch-free first fix-up
 * (taken about half the time, so a branch would mispredict); the second is rare. */
#define DIV_STEP(q, r, u1, u0, dn, v) do {                                   \
        u128 p_ = (u128) (v) * (u1) + (((u128) ((u1) + 1)) << 64) + (u0);   \
        mp_limb_t q1_ = (mp_limb_t) (p_ >> 64), q0_ = (mp_limb_t) p_;        \
        mp_limb_t r_ = (u0) - q1_ * (dn);                                    \
        mp_limb_t m_ = -(mp_limb_t) (r_ > q0_);                              \
        q1_ += m_; r_ += m_ & (dn);                                          \
        if (__builtin_expect(r_ >= (dn), 0)) { q1_++; r_ -= (dn); }          \
        (q) = q1_; (r) = r_;                                                 \
    } while (0)

#define LIMB_AT(c, i) (((c)->np[i] << (c)->s) | ((i) ? ((c)->np[(i) - 1] >> (63 - (c)->s)) >> 1 : 0))

static void chain_tail(div_chain *c, mp_size_t from)
{
    mp_size_t i;
    mp_limb_t r = c->r, dn = c->dn, v = c->v;
    for (i = from; i >= 0; i--) {
        mp_limb_t u0 = LIMB_AT(c, i);
        DIV_STEP(c->qp[i], r, r, u0, dn, v);
    }
    c->r = r;
}

/* For m <= 4 chains: all quotients; remainders left in c[i].r (nonzero iff inexact). */
static void chains_run(div_chain *c, int m)
{
    mp_size_t j, lo = c[0].n;
    int i;
    for (i = 1; i < m; i++) if (c[i].n < lo) lo = c[i].n;
    if (m == 4 && lo > 0) {
        mp_limb_t r0 = c[0].r, r1 = c[1].r, r2 = c[2].r, r3 = c[3].r;
        const mp_limb_t d0 = c[0].dn, d1 = c[1].dn, d2 = c[2].dn, d3 = c[3].dn;
        const mp_limb_t v0 = c[0].v, v1 = c[1].v, v2 = c[2].v, v3 = c[3].v;
        for (j = 0; j < lo; j++) {
            mp_size_t i0 = c[0].n - 1 - j, i1 = c[1].n - 1 - j, i2 = c[2].n - 1 - j, i3 = c[3].n - 1 - j;
            mp_limb_t u0 = LIMB_AT(&c[0], i0), u1 = LIMB_AT(&c[1], i1), u2 = LIMB_AT(&c[2], i2), u3 = LIMB_AT(&c[3], i3);
            DIV_STEP(c[0].qp[i0], r0, r0, u0, d0, v0);
            DIV_STEP(c[1].qp[i1], r1, r1, u1, d1, v1);
            DIV_STEP(c[2].qp[i2], r2, r2, u2, d2, v2);
            DIV_STEP(c[3].qp[i3], r3, r3, u3, d3, v3);
        }
        c[0].r = r0; c[1].r = r1; c[2].r = r2; c[3].r = r3;
    } else {
        lo = 0;
    }
    for (i = 0; i < m; i++) chain_tail(&c[i], c[i].n - 1 - lo);
}

/* sum_{k=1}^{a-1} floor(C_k / d_k), d_k = d0 + k*dq (all < 2^64), added to acc. */
static void sum_floors_ui(mpz_t acc, mpz_t *c, slong a, ulong d0, ulong dq)
{
    slong k, i, maxn = 0, negative_inexact = 0;
    mp_limb_t *buf;
    div_chain ch[4];
    int sg[4];
    for (k = 1; k < a; k++) if ((slong) mpz_size(c[k]) > maxn) maxn = (slong) mpz_size(c[k]);
    buf = (mp_limb_t *) flint_malloc(sizeof(mp_limb_t) * 4 * (maxn + 1));
    for (k = 1; k < a; k += 4) {
        int m = (int) (a - k < 4 ? a - k : 4);
        for (i = 0; i < m; i++) {
            mpz_srcptr ck = c[k + i];
            sg[i] = mpz_sgn(ck);
            chain_init(&ch[i], mpz_limbs_read(ck), (mp_size_t) mpz_size(ck), d0 + (ulong) (k + i) * dq, buf + i * (maxn + 1));
        }
        chains_run(ch, m);
        for (i = 0; i < m; i++) {
            mpz_t qz;
            if (ch[i].n == 0) continue;
            mpz_roinit_n(qz, ch[i].qp, ch[i].n);
            if (sg[i] > 0) mpz_add(acc, acc, qz);
            else { mpz_sub(acc, acc, qz); if (ch[i].r) negative_inexact++; }  /* floor(-u/d) = -ceil(u/d) */
        }
    }
    mpz_sub_ui(acc, acc, (ulong) negative_inexact);
    flint_free(buf);
}

/* S(p/q) for p/q >= 0 as a ball (engine._real_sum). Returns 0 on failure. */
static int real_sum(arb_t s, slong a, slong F, const mpz_t p, const mpz_t q)
{
    int too_big, use_ui, mode;
    table *t = get_table(a, F, &too_big);
    coeff_gen g;
    mpz_t ck, total, acc, tmp, d, err;
    ulong dui = 0, qui = 0;
    slong k;
    fmpz_t ft;
    mag_t m;

    if (t == NULL && !too_big) return 0;
    mpz_init(ck); mpz_init(total); mpz_init(acc); mpz_init(tmp); mpz_init(d); mpz_init(err);
    if (t == NULL) {
        cache_streams++;
        if (!gen_init(&g, a, F, ck)) { gen_clear(&g); return 0; }
        mpz_set(total, ck);
    } else {
        mpz_set(total, t->c[0]);
    }
    mode = mpz_cmp_ui(q, 1) == 0 ? 0 : (mpz_sizeinbase(q, 2) <= Q_HEADROOM_BITS ? 1 : 2);
    /* denominators p + k q, k = 1..a-1: ulong if the largest fits */
    mpz_mul_ui(d, q, (ulong) (a - 1));
    mpz_add(d, d, p);
    use_ui = mpz_fits_ulong_p(d) && mpz_fits_ulong_p(q);
    if (use_ui) { qui = mpz_get_ui(q); dui = mpz_get_ui(p); }
    else mpz_set(d, p);
    if (t && use_ui && mode != 2) {
        sum_floors_ui(mode == 0 ? total : acc, t->c, a, dui, qui);
    }
    else if (use_ui && mode != 2) {
        /* Terms grouped while the product of their denominators fits a limb:
         * floor(sum_{k in g} C_k / d_k) = floor(N / D), N = sum C_k D / d_k (exact),
         * one floor (< 1 unit) per group instead of per term, so the error bound
         * (2a units, or a*q + a) still holds; the multiplications are ~4x cheaper
         * than the divisions they replace. */
        mpz_t num;
        mpz_init(num);
        k = 1;
        while (k < a) {
            ulong D;
            dui += qui;
            D = dui;
            if (t) mpz_set(num, t->c[k]); else gen_next(&g, num);
            k++;
            while (k < a && dui + qui <= ULONG_MAX / D) {
                const mpz_t *c;
                dui += qui;
                if (t) c = (const mpz_t *) &t->c[k];
                else { gen_next(&g, ck); c = (const mpz_t *) &ck; }
                mpz_mul_ui(num, num, dui);
                mpz_addmul_ui(num, *c, D);
                D *= dui;
                k++;
            }
            mpz_fdiv_q_ui(tmp, num, D);
            if (mode == 0) mpz_add(total, total, tmp); else mpz_add(acc, acc, tmp);
        }
        mpz_clear(num);
    }
    else for (k = 1; k < a; k++) {
        const mpz_t *c;
        if (t) c = (const mpz_t *) &t->c[k];
        else { gen_next(&g, ck); c = (const mpz_t *) &ck; }
        if (use_ui) dui += qui; else mpz_add(d, d, q);
        if (mode == 2) {
            mpz_mul(tmp, *c, q);
            if (use_ui) mpz_fdiv_q_ui(tmp, tmp, dui); else mpz_fdiv_q(tmp, tmp, d);
            mpz_add(total, total, tmp);
        } else {
            if (use_ui) mpz_fdiv_q_ui(tmp, *c, dui); else mpz_fdiv_q(tmp, *c, d);
            if (mode == 0) mpz_add(total, total, tmp); else mpz_add(acc, acc, tmp);
        }
    }
    if (t == NULL) gen_clear(&g);
    if (mode == 1) {
        mpz_addmul(total, acc, q);
        mpz_set_ui(err, (ulong) a);
        mpz_mul(err, err, q);
        mpz_add_ui(err, err, (ulong) a);
    } else {
        mpz_set_ui(err, 2 * (ulong) a);
    }
    fmpz_init(ft); mag_init(m);
    fmpz_set_mpz(ft, total);
    arb_set_fmpz(s, ft);
    arb_mul_2exp_si(s, s, -F);
    fmpz_set_mpz(ft, err);
    mag_set_fmpz(m, ft);
    mag_mul_2exp_si(m, m, -F);
    mag_add(arb_radref(s), arb_radref(s), m);
    fmpz_clear(ft); mag_clear(m);
    mpz_clear(ck); mpz_clear(total); mpz_clear(acc); mpz_clear(tmp); mpz_clear(d); mpz_clear(err);
    return 1;
}

/* ln z! for z = p/q >= 0 (engine.log_factorial, short z), at precision prec. */
static int log_factorial(arb_t value, slong *a_out, const mpz_t p, const mpz_t q, slong rel_bits, slong prec)
{
    slong a = choose_a(rel_bits), F = rel_bits + SUM_GUARD_BITS + Q_HEADROOM_BITS;
    arb_t s, zb, tt, u;
    fmpz_t fp, fq;
    *a_out = a;
    arb_init(s); arb_init(zb); arb_init(tt); arb_init(u);
    fmpz_init(fp); fmpz_init(fq);
    if (!real_sum(s, a, F, p, q)) {
        arb_clear(s); arb_clear(zb); arb_clear(tt); arb_clear(u); fmpz_clear(fp); fmpz_clear(fq);
        return 0;
    }
    fmpz_set_mpz(fp, p); fmpz_set_mpz(fq, q);
    if (fmpz_is_one(fq)) arb_set_fmpz(zb, fp);
    else arb_fmpz_div_fmpz(zb, fp, fq, prec);
    arb_add_si(tt, zb, a, prec);                 /* t = z + a */
    arb_log(u, tt, prec);                        /* ln t */
    arb_set_d(value, 0.5);
    arb_add(value, zb, value, prec);             /* z + 1/2 */
    arb_mul(value, value, u, prec);
    arb_sub(value, value, tt, prec);
    arb_log(s, s, prec);
    arb_add(value, value, s, prec);
    /* + [0 +/- 2^(floor(log2 bound) + 2)] */
    {
        mag_t m;
        mag_init(m);
        mag_set_ui_2exp_si(m, 1, (slong) floor(log2_truncation_bound(a)) + 2);
        mag_add(arb_radref(value), arb_radref(value), m);
        mag_clear(m);
    }
    arb_clear(s); arb_clear(zb); arb_clear(tt); arb_clear(u);
    fmpz_clear(fp); fmpz_clear(fq);
    return 1;
}

/* ---------------- rounding (rounding.py) ---------------- */

/* floor of the lower and upper ends of x; 0 if x is not finite. */
static int decade_range(fmpz_t lo, fmpz_t hi, const arb_t x)
{
    arf_t t;
    if (!arb_is_finite(x)) return 0;
    arf_init(t);
    arb_get_lbound_arf(t, x, ARF_PREC_EXACT);
    arf_get_fmpz(lo, t, ARF_RND_FLOOR);
    arb_get_ubound_arf(t, x, ARF_PREC_EXACT);
    arf_get_fmpz(hi, t, ARF_RND_FLOOR);
    arf_clear(t);
    return 1;
}

/* m = value * 10^(digits-1-E) in [10^(digits-1), 10^digits]; sets n, *bump. 1 = decided. */
static int round_scaled(fmpz_t n, int *bump, const arb_t m, const fmpz_t unit, const fmpz_t top, slong prec)
{
    arb_t sh;
    int ok = 0;
    *bump = 0;
    arb_init(sh);
    arb_set_d(sh, 0.5);
    arb_add(sh, m, sh, prec);
    if (!arb_contains_int(sh)) {
        arb_floor(sh, sh, prec);
        if (arb_get_unique_fmpz(n, sh)) {
            if (fmpz_equal(n, top)) { fmpz_set(n, unit); *bump = 1; ok = 1; }
            else if (fmpz_cmp(n, unit) >= 0 && fmpz_cmp(n, top) < 0) ok = 1;
        }
    }
    arb_clear(sh);
    return ok;
}

static int round_across_power(fmpz_t n, const arb_t m, const fmpz_t unit, slong prec)
{
    arb_t tm, b;
    fmpz_t v;
    int ok = 0;
    arb_init(tm); arb_init(b); fmpz_init(v);
    arb_mul_ui(tm, m, 20, prec);
    fmpz_mul_ui(v, unit, 20);
    fmpz_sub_ui(v, v, 1);
    arb_set_fmpz(b, v);
    if (arb_gt(tm, b)) {
        fmpz_add_ui(v, v, 11);
        arb_set_fmpz(b, v);
        if (arb_lt(tm, b)) { fmpz_set(n, unit); ok = 1; }
    }
    arb_clear(tm); arb_clear(b); fmpz_clear(v);
    return ok;
}

/* round_from_log: |V| = exp(log_abs) to digits digits. 1 = decided (n, e). */
static int round_from_log(fmpz_t n, fmpz_t e, const arb_t log_abs, slong digits, slong prec)
{
    arb_t ln10, t;
    fmpz_t lo, hi, unit, top, sh;
    int ok = 0, bump;
    arb_init(ln10); arb_init(t);
    fmpz_init(lo); fmpz_init(hi); fmpz_init(unit); fmpz_init(top); fmpz_init(sh);
    arb_const_log10(ln10, prec);
    arb_div(t, log_abs, ln10, prec);
    if (decade_range(lo, hi, t)) {
        fmpz_sub(sh, hi, lo);
        if (fmpz_cmp_ui(sh, 1) <= 0) {
            fmpz_set(e, hi);
            fmpz_sub_si(sh, hi, digits - 1);          /* exp10 - digits + 1 */
            arb_mul_fmpz(t, ln10, sh, prec);
            arb_sub(t, log_abs, t, prec);
            arb_exp(t, t, prec);
            fmpz_ui_pow_ui(unit, 10, (ulong) (digits - 1));
            fmpz_mul_ui(top, unit, 10);
            if (!fmpz_equal(lo, hi)) {
                ok = round_across_power(n, t, unit, prec);
            } else {
                ok = round_scaled(n, &bump, t, unit, top, prec);
                if (ok && bump) fmpz_add_ui(e, e, 1);
            }
        }
    }
    arb_clear(ln10); arb_clear(t);
    fmpz_clear(lo); fmpz_clear(hi); fmpz_clear(unit); fmpz_clear(top); fmpz_clear(sh);
    return ok;
}

/* round_ball: a real ball to digits digits. 1 = decided (sign, n, e). */
static int round_ball(int *sign, fmpz_t n, fmpz_t e, const arb_t value, slong digits, slong prec)
{
    arb_t mag, t, ln10;
    fmpz_t lo, hi, unit, top, sh;
    int ok = 0, bump;
    if (arb_contains_zero(value)) return 0;
    *sign = arb_is_positive(value) ? 1 : -1;
    arb_init(mag); arb_init(t); arb_init(ln10);
    fmpz_init(lo); fmpz_init(hi); fmpz_init(unit); fmpz_init(top); fmpz_init(sh);
    arb_abs(mag, value);
    arb_log(t, mag, prec);
    arb_const_log10(ln10, prec);
    arb_div(t, t, ln10, prec);
    if (decade_range(lo, hi, t)) {
        fmpz_sub(sh, hi, lo);
        if (fmpz_cmp_ui(sh, 1) <= 0 && fmpz_fits_si(hi)) {
            slong exp10 = fmpz_get_si(hi), power = digits - 1 - exp10;
            fmpz_set(e, hi);
            arb_set_ui(t, 10);
            if (power >= 0) {
                arb_ui_pow_ui(t, 10, (ulong) power, prec);
            } else {
                arb_ui_pow_ui(t, 10, (ulong) (-power), prec);
                arb_inv(t, t, prec);
            }
            arb_mul(t, mag, t, prec);
            fmpz_ui_pow_ui(unit, 10, (ulong) (digits - 1));
            fmpz_mul_ui(top, unit, 10);
            if (!fmpz_equal(lo, hi)) {
                ok = round_across_power(n, t, unit, prec);
            } else {
                ok = round_scaled(n, &bump, t, unit, top, prec);
                if (ok && bump) fmpz_add_ui(e, e, 1);
            }
        }
    }
    arb_clear(mag); arb_clear(t); arb_clear(ln10);
    fmpz_clear(lo); fmpz_clear(hi); fmpz_clear(unit); fmpz_clear(top); fmpz_clear(sh);
    return ok;
}

/* ---------------- Python glue ---------------- */

static int py_to_mpz(mpz_t out, PyObject *obj)
{
    long long v;
    int overflow;
    PyObject *s;
    const char *txt;
    if (!PyLong_Check(obj)) { PyErr_SetString(PyExc_TypeError, "spouge._core: expected an int"); return 0; }
    v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (!overflow) {
        if (v == -1 && PyErr_Occurred()) return 0;
        if (v >= LONG_MIN && v <= LONG_MAX) { mpz_set_si(out, (long) v); return 1; }
    }
    s = PyNumber_ToBase(obj, 16);  /* "0x..." or "-0x..." */
    if (s == NULL) return 0;
    txt = PyUnicode_AsUTF8(s);
    if (txt == NULL || mpz_set_str(out, txt, 0) != 0) {
        Py_DECREF(s);
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "spouge._core: bad integer");
        return 0;
    }
    Py_DECREF(s);
    return 1;
}

static PyObject *fmpz_to_py(const fmpz_t v)
{
    char *s;
    PyObject *r;
    if (fmpz_fits_si(v)) return PyLong_FromLongLong((long long) fmpz_get_si(v));
    s = fmpz_get_str(NULL, 16, v);
    r = PyLong_FromString(s, NULL, 16);
    flint_free(s);
    return r;
}

static PyObject *mpz_to_py(const mpz_t v)
{
    fmpz_t f;
    PyObject *r;
    fmpz_init(f);
    fmpz_set_mpz(f, v);
    r = fmpz_to_py(f);
    fmpz_clear(f);
    return r;
}

#define MAX_BITS ((slong) 1 << 40)

static int check_sizes(slong bits, slong extra, slong digits)
{
    if (bits < 1 || bits > MAX_BITS || extra < 0 || extra > MAX_BITS || digits < 1 || digits > MAX_BITS) {
        PyErr_SetString(PyExc_ValueError, "spouge._core: bits, extra or digits out of range");
        return 0;
    }
    return 1;
}

/* ln|Γ(p/q)| (functions._ln_abs_gamma) at precision work + 16; sets sign and a. */
static int ln_abs_gamma(arb_t value, int *sign, slong *a, const mpz_t p, const mpz_t q, slong bits, slong extra)
{
    slong work = bits + extra, prec = work + 16;
    mpz_t z, nearest, f;
    int ok;
    mpz_init(z); mpz_init(nearest); mpz_init(f);
    *sign = 1;
    if (mpz_cmp(p, q) >= 0) {                               /* x >= 1: ln (x-1)! */
        mpz_sub(z, p, q);
        ok = log_factorial(value, a, z, q, bits, prec);
    } else if (mpz_sgn(p) > 0) {                            /* 0 < x < 1: ln x! - ln x */
        ok = log_factorial(value, a, p, q, bits, prec);
        if (ok) {
            arb_t lx;
            fmpz_t fp, fq;
            arb_init(lx); fmpz_init(fp); fmpz_init(fq);
            fmpz_set_mpz(fp, p); fmpz_set_mpz(fq, q);
            arb_fmpz_div_fmpz(lx, fp, fq, prec);
            arb_log(lx, lx, prec);
            arb_sub(value, value, lx, prec);
            arb_clear(lx); fmpz_clear(fp); fmpz_clear(fq);
        }
    } else {                                                /* reflection */
        mpz_mul_2exp(nearest, p, 1);
        mpz_add(nearest, nearest, q);
        mpz_mul_2exp(z, q, 1);
        mpz_fdiv_q(nearest, nearest, z);                    /* (2p + q) // 2q */
        mpz_mul(f, nearest, q);
        mpz_sub(f, p, f);                                   /* f_num = p - nearest q */
        mpz_neg(z, p);
        ok = log_factorial(value, a, z, q, bits, prec);
        if (ok) {
            arb_t sine, lpi;
            fmpz_t fa, fq;
            arb_init(sine); arb_init(lpi); fmpz_init(fa); fmpz_init(fq);
            fmpz_set_mpz(fa, f); fmpz_abs(fa, fa); fmpz_set_mpz(fq, q);
            arb_fmpz_div_fmpz(sine, fa, fq, prec);
            arb_sin_pi(sine, sine, prec);
            arb_log(sine, sine, prec);
            arb_const_pi(lpi, prec);
            arb_log(lpi, lpi, prec);
            arb_sub(lpi, lpi, sine, prec);
            arb_sub(value, lpi, value, prec);
            arb_clear(sine); arb_clear(lpi); fmpz_clear(fa); fmpz_clear(fq);
            *sign = (mpz_odd_p(nearest) ? -1 : 1) * (mpz_sgn(f) > 0 ? 1 : -1);
        }
    }
    mpz_clear(z); mpz_clear(nearest); mpz_clear(f);
    if (!ok) PyErr_SetString(PyExc_ArithmeticError, "spouge._core: internal: coefficient ball too wide");
    return ok;
}

/* Parse (p, q, bits, extra, digits); checks q > 0 and x = p/q not a pole. */
static int parse_pass_args(PyObject *args, mpz_t p, mpz_t q, slong *bits, slong *extra, slong *digits)
{
    PyObject *po, *qo;
    long long b, e, d;
    if (!PyArg_ParseTuple(args, "OOLLL", &po, &qo, &b, &e, &d)) return 0;
    if (!check_sizes((slong) b, (slong) e, (slong) d)) return 0;
    *bits = (slong) b; *extra = (slong) e; *digits = (slong) d;
    if (!py_to_mpz(p, po) || !py_to_mpz(q, qo)) return 0;
    if (mpz_sgn(q) <= 0) { PyErr_SetString(PyExc_ValueError, "spouge._core: q must be > 0"); return 0; }
    if (mpz_sgn(p) <= 0 && mpz_divisible_p(p, q)) {
        PyErr_SetString(PyExc_ValueError, "spouge._core: x is a pole of Γ");
        return 0;
    }
    return 1;
}

PyDoc_STRVAR(gamma_pass_doc,
"gamma_pass(p, q, bits, extra, digits) -> (sign, N, E, a) or None\n\n"
"One pass for Γ(p/q) (q > 0, not a pole): ln|Γ| as an Arb ball at bits+extra+16,\n"
"then round_from_log.  None when the ball does not decide the rounding.");

static PyObject *py_gamma_pass(PyObject *self, PyObject *args)
{
    mpz_t p, q;
    slong bits, extra, digits, a = 0;
    int sign, ok;
    arb_t v;
    fmpz_t n, e;
    PyObject *res = NULL;
    mpz_init(p); mpz_init(q);
    if (!parse_pass_args(args, p, q, &bits, &extra, &digits)) { mpz_clear(p); mpz_clear(q); return NULL; }
    arb_init(v); fmpz_init(n); fmpz_init(e);
    if (ln_abs_gamma(v, &sign, &a, p, q, bits, extra)) {
        ok = round_from_log(n, e, v, digits, bits + extra + 16);
        if (ok) {
            PyObject *pn = fmpz_to_py(n), *pe = fmpz_to_py(e);
            if (pn && pe) res = Py_BuildValue("(iNNn)", sign, pn, pe, (Py_ssize_t) a);
            else { Py_XDECREF(pn); Py_XDECREF(pe); }
        } else {
            res = Py_None; Py_INCREF(res);
        }
    }
    arb_clear(v); fmpz_clear(n); fmpz_clear(e);
    mpz_clear(p); mpz_clear(q);
    return res;
}

/* ---------------- the whole first pass of a short real call ---------------- */

static long max_digits = 100000, max_decimal_exponent = 10000;
#define FAST_MAX_TEXT 4096

/* Parse a plain decimal "[+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?" (no spaces, ASCII) into p/q.
 * 0 = not handled here (anything unusual, zero, or out of range: Python decides and
 * raises the proper error); 1 = parsed. */
static int parse_plain_decimal(mpz_t p, mpz_t q, const char *s, Py_ssize_t n)
{
    Py_ssize_t i = 0, int_start, int_end, frac_start = 0, frac_end = 0, sig_len;
    int neg = 0, esign = 1;
    long exp10 = 0, magnitude;
    char buf[FAST_MAX_TEXT + 1];
    Py_ssize_t blen = 0, k;
    if (n < 1 || n > FAST_MAX_TEXT) return 0;
    if (s[i] == '+' || s[i] == '-') { neg = s[i] == '-'; i++; }
    int_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    int_end = i;
    if (i < n && s[i] == '.') {
        i++;
        frac_start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        frac_end = i;
    }
    if (int_end == int_start && frac_end == frac_start) return 0;  /* no digit at all */
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        Py_ssize_t e0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) { esign = s[i] == '-' ? -1 : 1; i++; }
        e0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (i - e0 >= 7) return 0;  /* huge exponent: Python's range check */
            exp10 = exp10 * 10 + (s[i] - '0');
            i++;
        }
        if (i == e0) return 0;
        exp10 *= esign;
    }
    if (i != n) return 0;
    for (k = int_start; k < int_end; k++) buf[blen++] = s[k];
    for (k = frac_start; k < frac_end; k++) buf[blen++] = s[k];
    exp10 -= (long) (frac_end - frac_start);
    k = 0;
    while (k < blen && buf[k] == '0') k++;
    sig_len = blen - k;
    if (sig_len == 0) return 0;  /* zero: a pole, Python raises */
    magnitude = (long) sig_len - 1 + exp10;
    if (magnitude < -max_decimal_exponent || magnitude > max_decimal_exponent) return 0;
    buf[blen] = 0;
    if (mpz_set_str(p, buf + k, 10) != 0) return 0;
    mpz_set_ui(q, 1);
    if (exp10 > 0) {
        mpz_ui_pow_ui(q, 10, (ulong) exp10);
        mpz_mul(p, p, q);
        mpz_set_ui(q, 1);
    } else if (exp10 < 0) {
        mpz_t g;
        mpz_ui_pow_ui(q, 10, (ulong) -exp10);
        mpz_init(g);
        mpz_gcd(g, p, q);
        if (mpz_cmp_ui(g, 1) != 0) { mpz_divexact(p, p, g); mpz_divexact(q, q, g); }
        mpz_clear(g);
    }
    if (neg) mpz_neg(p, p);
    return 1;
}

/* precision.magnitude_bits for one real part x = p/q (p != 0) */
static slong magnitude_bits(const mpz_t p, const mpz_t q)
{
    double top = 2.0, v;
    slong lg = (slong) mpz_sizeinbase(p, 2) - (slong) mpz_sizeinbase(q, 2);
    v = lg > 0 ? (double) lg + log2((double) (lg + 1)) : log2((double) (1 - lg));
    if (v > top) top = v;
    if (mpz_sgn(p) < 0 && mpz_cmp_ui(q, 1) != 0) {
        mpz_t t, u;
        mpz_init(t); mpz_init(u);
        mpz_mul_2exp(t, p, 1);
        mpz_add(t, t, q);
        mpz_mul_2exp(u, q, 1);
        mpz_fdiv_q(t, t, u);
        mpz_mul(t, t, q);
        mpz_sub(t, p, t);  /* f_num */
        v = log2((double) (1 + (slong) mpz_sizeinbase(q, 2) - (mpz_sgn(t) ? (slong) mpz_sizeinbase(t, 2) : 0)));
        if (v > top) top = v;
        mpz_clear(t); mpz_clear(u);
    }
    return (slong) ceil(top) + 3;
}

PyDoc_STRVAR(gamma_first_doc,
"gamma_first(x, digits, kind) -> (signed N, E, a, precision) or None\n\n"
"The whole first pass of a short real call, planned as precision.plan plans it:\n"
"kind 0 = gamma(x), 1 = factorial(x) = gamma(x+1).  x: a plain decimal str (no\n"
"spaces) or an int.  None whenever Python must take over: anything unusual about\n"
"x or digits (Python then raises its own error), a pole, a long denominator, or an\n"
"undecided first pass (Python's loop then runs from its own plan).");

static PyObject *py_gamma_first(PyObject *self, PyObject *args)
{
    PyObject *x, *res = NULL;
    long long digits_ll;
    int kind, sign, ok = 0, handled = 0;
    mpz_t p, q;
    slong bits, extra, digits, a = 0;
    if (!PyArg_ParseTuple(args, "OOi", &x, &res, &kind)) return NULL;
    if (!PyLong_CheckExact(res)) Py_RETURN_NONE;  /* bool, str digits...: Python's check_digits */
    digits_ll = PyLong_AsLongLong(res);
    if (digits_ll == -1 && PyErr_Occurred()) { PyErr_Clear(); Py_RETURN_NONE; }
    if (digits_ll < 1 || digits_ll > max_digits) Py_RETURN_NONE;
    res = NULL;
    digits = (slong) digits_ll;
    mpz_init(p); mpz_init(q);
    if (PyUnicode_CheckExact(x)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(x, &n);
        if (s == NULL) { PyErr_Clear(); }
        else handled = parse_plain_decimal(p, q, s, n);
    } else if (PyLong_CheckExact(x)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(x, &overflow);
        if (!overflow && !(v == -1 && PyErr_Occurred())) { mpz_set_si(p, (long) v); mpz_set_ui(q, 1); handled = 1; }
        PyErr_Clear();
    }
    if (handled && kind == 1) mpz_add(p, p, q);
    if (handled && (kind < 0 || kind > 1)) handled = 0;
    if (handled && mpz_sgn(p) <= 0 && mpz_cmp_ui(q, 1) == 0) handled = 0;  /* pole: Python raises */
    if (handled) {
        bits = (slong) ceil((double) digits * 3.321928094887362) + 16;  /* precision.target_bits */
        extra = magnitude_bits(p, q);
        if ((slong) mpz_sizeinbase(q, 2) <= bits + 88) {
            arb_t v;
            fmpz_t n, e;
            arb_init(v); fmpz_init(n); fmpz_init(e);
            if (ln_abs_gamma(v, &sign, &a, p, q, bits, extra)) {
                ok = round_from_log(n, e, v, digits, bits + extra + 16);
                if (ok) {
                    PyObject *pn, *pe;
                    if (sign < 0) fmpz_neg(n, n);
                    pn = fmpz_to_py(n); pe = fmpz_to_py(e);
                    if (pn && pe) res = Py_BuildValue("(NNnn)", pn, pe, (Py_ssize_t) a, (Py_ssize_t) (bits + extra));
                    else { Py_XDECREF(pn); Py_XDECREF(pe); }
                } else {
                    res = Py_None; Py_INCREF(res);
                }
            }
            arb_clear(v); fmpz_clear(n); fmpz_clear(e);
        } else {
            res = Py_None; Py_INCREF(res);
        }
    } else {
        res = Py_None; Py_INCREF(res);
    }
    mpz_clear(p); mpz_clear(q);
    return res;
}

static PyObject *py_configure(PyObject *self, PyObject *args)
{
    long md, me;
    if (!PyArg_ParseTuple(args, "ll", &md, &me)) return NULL;
    if (md < 1 || me < 0) { PyErr_SetString(PyExc_ValueError, "spouge._core: bad limits"); return NULL; }
    max_digits = md; max_decimal_exponent = me;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(lgamma_pass_doc,
"lgamma_pass(p, q, bits, extra, digits) -> (sign, N, E, a) | int | None\n\n"
"One pass for ln|Γ(p/q)|, rounded by round_ball.  Undecided: the ball's relative\n"
"accuracy in bits (an int) when it excludes 0, else None.");

static PyObject *py_lgamma_pass(PyObject *self, PyObject *args)
{
    mpz_t p, q;
    slong bits, extra, digits, a = 0;
    int sign, vsign = 1, ok;
    arb_t v;
    fmpz_t n, e;
    PyObject *res = NULL;
    mpz_init(p); mpz_init(q);
    if (!parse_pass_args(args, p, q, &bits, &extra, &digits)) { mpz_clear(p); mpz_clear(q); return NULL; }
    arb_init(v); fmpz_init(n); fmpz_init(e);
    if (ln_abs_gamma(v, &sign, &a, p, q, bits, extra)) {
        ok = round_ball(&vsign, n, e, v, digits, bits + extra + 16);
        if (ok) {
            PyObject *pn, *pe;
            pn = fmpz_to_py(n); pe = fmpz_to_py(e);
            if (pn && pe) res = Py_BuildValue("(iNNn)", vsign, pn, pe, (Py_ssize_t) a);
            else { Py_XDECREF(pn); Py_XDECREF(pe); }
        } else if (!arb_contains_zero(v)) {
            res = PyLong_FromSsize_t((Py_ssize_t) arb_rel_accuracy_bits(v));
        } else {
            res = Py_None; Py_INCREF(res);
        }
    }
    arb_clear(v); fmpz_clear(n); fmpz_clear(e);
    mpz_clear(p); mpz_clear(q);
    return res;
}

PyDoc_STRVAR(log_factorial_doc,
"log_factorial(p, q, rel_bits, abs_bits) -> (mid_man, mid_exp, rad_man, rad_exp, a)\n\n"
"ln z! for z = p/q >= 0 as an exact ball mid_man*2^mid_exp +/- rad_man*2^rad_exp\n"
"(engine.log_factorial for short z), at precision max(abs_bits, rel_bits) + 16.");

static PyObject *py_log_factorial(PyObject *self, PyObject *args)
{
    PyObject *po, *qo, *res = NULL;
    long long rb, ab;
    mpz_t p, q;
    slong a = 0;
    arb_t v;
    if (!PyArg_ParseTuple(args, "OOLL", &po, &qo, &rb, &ab)) return NULL;
    if (!check_sizes((slong) rb, (slong) ab, 1)) return NULL;
    mpz_init(p); mpz_init(q);
    arb_init(v);
    if (py_to_mpz(p, po) && py_to_mpz(q, qo)) {
        if (mpz_sgn(q) <= 0 || mpz_sgn(p) < 0) {
            PyErr_SetString(PyExc_ValueError, "spouge._core: log_factorial needs q > 0 and p >= 0");
        } else if (log_factorial(v, &a, p, q, (slong) rb, (slong) (ab > rb ? ab : rb) + 16)) {
            fmpz_t m1, e1, m2, e2;
            arf_t r;
            fmpz_init(m1); fmpz_init(e1); fmpz_init(m2); fmpz_init(e2); arf_init(r);
            arf_get_fmpz_2exp(m1, e1, arb_midref(v));
            arf_set_mag(r, arb_radref(v));
            arf_get_fmpz_2exp(m2, e2, r);
            res = Py_BuildValue("(NNNNn)", fmpz_to_py(m1), fmpz_to_py(e1), fmpz_to_py(m2), fmpz_to_py(e2), (Py_ssize_t) a);
            fmpz_clear(m1); fmpz_clear(e1); fmpz_clear(m2); fmpz_clear(e2); arf_clear(r);
        } else {
            PyErr_SetString(PyExc_ArithmeticError, "spouge._core: internal: coefficient ball too wide");
        }
    }
    arb_clear(v);
    mpz_clear(p); mpz_clear(q);
    return res;
}

PyDoc_STRVAR(coefficients_doc, "coefficients(a, F) -> list of C_0..C_{a-1} (as coefficients.iter_coefficients)");

static PyObject *py_coefficients(PyObject *self, PyObject *args)
{
    long long a, F;
    coeff_gen g;
    mpz_t c;
    PyObject *list, *item;
    slong k;
    if (!PyArg_ParseTuple(args, "LL", &a, &F)) return NULL;
    if (a < MIN_A || a > 200000 || F < 1 || F > MAX_BITS) {
        PyErr_SetString(PyExc_ValueError, "spouge._core: a or F out of range");
        return NULL;
    }
    list = PyList_New(0);
    if (!list) return NULL;
    mpz_init(c);
    if (!gen_init(&g, (slong) a, (slong) F, c)) {
        gen_clear(&g); mpz_clear(c); Py_DECREF(list);
        PyErr_SetString(PyExc_ArithmeticError, "spouge._core: internal: ball too wide");
        return NULL;
    }
    for (k = 0; k < a; k++) {
        if (k) gen_next(&g, c);
        item = mpz_to_py(c);
        if (!item || PyList_Append(list, item) < 0) { Py_XDECREF(item); Py_DECREF(list); list = NULL; break; }
        Py_DECREF(item);
    }
    gen_clear(&g);
    mpz_clear(c);
    return list;
}

PyDoc_STRVAR(choose_a_doc, "choose_a(bits) -> a (as coefficients.choose_a)");

static PyObject *py_choose_a(PyObject *self, PyObject *args)
{
    long long bits;
    if (!PyArg_ParseTuple(args, "L", &bits)) return NULL;
    if (bits < 1 || bits > MAX_BITS) { PyErr_SetString(PyExc_ValueError, "spouge._core: bits out of range"); return NULL; }
    return PyLong_FromSsize_t((Py_ssize_t) choose_a((slong) bits));
}

static PyObject *py_cache_info(PyObject *self, PyObject *noargs)
{
    long n = 0;
    table *t;
    for (t = lru_head; t; t = t->next) n++;
    return Py_BuildValue("{s:l,s:l,s:l,s:l,s:d,s:d}", "hits", cache_hits, "misses", cache_misses,
                         "streamed", cache_streams, "tables", n, "bits", lru_bits, "budget_bits", CACHE_BUDGET_BITS);
}

static PyObject *py_cache_clear(PyObject *self, PyObject *noargs)
{
    while (lru_head) {
        table *t = lru_head;
        lru_unlink(t);
        table_free(t);
    }
    lru_bits = 0.0;
    Py_RETURN_NONE;
}

static PyMethodDef core_methods[] = {
    {"gamma_pass", py_gamma_pass, METH_VARARGS, gamma_pass_doc},
    {"lgamma_pass", py_lgamma_pass, METH_VARARGS, lgamma_pass_doc},
    {"log_factorial", py_log_factorial, METH_VARARGS, log_factorial_doc},
    {"coefficients", py_coefficients, METH_VARARGS, coefficients_doc},
    {"gamma_first", py_gamma_first, METH_VARARGS, gamma_first_doc},
    {"configure", py_configure, METH_VARARGS, "configure(MAX_DIGITS, MAX_DECIMAL_EXPONENT): the limits gamma_first leaves to Python."},
    {"choose_a", py_choose_a, METH_VARARGS, choose_a_doc},
    {"cache_info", py_cache_info, METH_NOARGS, "Coefficient-table cache counters."},
    {"cache_clear", py_cache_clear, METH_NOARGS, "Drop every cached coefficient table."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "spouge._core",
    "One real pass of Spouge's formula in C (GMP sum, Arb enclosure, rounding decision).",
    -1, core_methods
};

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *m;
    LOG2_2PI = log2(2 * 3.141592653589793);
    LOG2_E = log2(2.718281828459045);
    m = PyModule_Create(&core_module);
    if (!m) return NULL;
#ifdef SPOUGE_FLINT3
    PyModule_AddStringConstant(m, "flint_api", "flint3");
#else
    PyModule_AddStringConstant(m, "flint_api", "flint2+arb");
#endif
    PyModule_AddStringConstant(m, "flint_version", FLINT_VERSION);
    PyModule_AddIntConstant(m, "SUM_GUARD_BITS", SUM_GUARD_BITS);
    PyModule_AddIntConstant(m, "Q_HEADROOM_BITS", Q_HEADROOM_BITS);
    return m;
}
