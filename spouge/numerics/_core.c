/* spouge._core: one pass of Spouge's formula for a real argument, in C.
 *
 * Owns: the hot path of a real gamma/lgamma pass, mirroring (value for value
 * where it matters) the pure-Python engine:
 *   - the coefficient table C_k = round(c_k 2^F), |c_k 2^F - C_k| <= 1 checked
 *     on Arb's ball exactly as coefficients.iter_coefficients does, with the same
 *     per-coefficient precisions (so the integers are identical); a miss is first
 *     offered to the Python provider (the disk cache of spouge.tablecache);
 *     tables cached per (a, F) in an LRU bounded by total bits (the budget of
 *     coefficients.CACHE); larger ones streamed, never stored, at fewer fraction
 *     bits when the sum is provably large (real_sum); new tables and streamed
 *     sums made on threads in chunks (stream_coefficients), with progress
 *     reports to numerics.progress from the calling thread (set_progress);
 *   - the fixed-point sum (engine._real_sum): exact floor divisions with the
 *     same proven error (2a units, or a*q + a when q < 2^64 is factored out),
 *     by four interleaved one- or two-limb division chains (2x GMP's latency-bound
 *     mpn_divrem_1), over threads when the sum is large;
 *   - large z: the sum re-expanded in 1/z (engine._large_sum: the same exact moments,
 *     J, Horner and radius), moments in their own LRU (a quarter of the table budget),
 *     made only after wait*(J+1) eligible calls (set_large_z, moments_info);
 *     short sums (a <= 48) by plain per-term GMP divisions;
 *   - the Arb enclosure of ln z!, the 0 < x < 1 and reflection paths
 *     (functions._ln_abs_gamma), and the rounding decision (rounding.round_from_log
 *     for gamma, rounding.round_ball for lgamma; modes nearest/down/up/zero/away,
 *     radix 10 or 2, no subnormal grid): a result only when every point of the
 *     ball rounds to it; a ball straddling R^E decides R^E only under the same
 *     strict rule (nearest); ties and grid points are never decided from a ball.
 *   - gamma_first: the whole first pass of a short gamma/factorial call from the
 *     caller's decimal string, planned as precision.plan plans it.
 * Python keeps the Ziv loop, planning, exact settling of m!, long-denominator
 * rounding of z, subnormal doubles and everything complex.
 *
 * Builds against FLINT 2.9 + separate Arb 2.23 (<arb.h>, -lflint-arb or -larb)
 * and FLINT 3 (<flint/arb.h>, -lflint).  No library gamma is used.  The GIL is
 * held throughout (the table cache is process-global); only the worker threads
 * of a large sum or of coefficient chunks run without Python, on private
 * accumulators; the calling thread alone runs signal handlers and reporters.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <pthread.h>
#include <unistd.h>
#include <time.h>
#include <limits.h>
#include <gmp.h>

#if defined(__has_include)
#  if __has_include(<flint/arb.h>)
#    include <flint/flint.h>
#    include <flint/fmpz.h>
#    include <flint/fmpz_poly.h>
#    include <flint/arb.h>
#    define SPOUGE_FLINT3 1
#  else
#    include <flint/flint.h>
#    include <flint/fmpz.h>
#    include <flint/fmpz_poly.h>
#    include <arb.h>
#  endif
#else
#  include <flint/flint.h>
#  include <flint/fmpz.h>
#  include <flint/fmpz_poly.h>
#  include <arb.h>
#endif

/* ---- constants shared with the Python engine (see engine.py / coefficients.py) ---- */
#define SUM_GUARD_BITS 24
#define Q_HEADROOM_BITS 64
#define COEFF_GUARD_BITS 30
#define MIN_A 3
#define DEFAULT_CACHE_BUDGET_BITS (8.0 * 160.0 * 1048576.0)
static double cache_budget_bits = DEFAULT_CACHE_BUDGET_BITS;  /* set_cache_budget() */

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
    arb_t running, inv_e2, tmp;  /* running = r_k^2 = e^(2(a-k))/(k-1)!^2; inv_e2 = e^-2 */
} coeff_gen;

/* lo (lo+1) ... (hi-1) exactly, by binary splitting (1 when hi <= lo); our own product, no library factorial. */
static void product_range(fmpz_t out, ulong lo, ulong hi)
{
    if (hi <= lo + 16) {
        ulong i;
        fmpz_one(out);
        for (i = lo; i < hi; i++) fmpz_mul_ui(out, out, i);
    } else {
        fmpz_t right;
        ulong mid = lo + (hi - lo) / 2;
        fmpz_init(right);
        product_range(out, lo, mid);
        product_range(right, mid, hi);
        fmpz_mul(out, out, right);
        fmpz_clear(right);
    }
}

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
    if (ok && arf_is_zero(arb_midref(value))) mpz_set_ui(out, 0);
    else if (ok) {
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

static slong gen_prec(const coeff_gen *g, double size, slong extra)
{
    slong prec = g->F + (slong) ceil(size) + extra;
    return prec < 64 ? 64 : prec;
}

/* A generator positioned at C_first (first >= 1): the square of the running factor,
 * r_k^2 = e^(2(a-k))/(k-1)!^2, is made directly at k = first (one exp, one exact product), as
 * coefficients.iter_coefficients does for a chunk, so ranges of k can be made on separate
 * threads.  c0 (if not NULL) gets C_0.  Touches no Python object: safe on any thread. */
static int gen_init_at(coeff_gen *g, slong a, slong F, slong first, mpz_t c0)
{
    slong k, prec;
    double log_fact = 0.0, top = 0.0;
    int ok = 1;
    g->a = a; g->F = F; g->k = first;
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
    arb_init(g->running); arb_init(g->inv_e2); arb_init(g->tmp);
    if (c0 != NULL) {
        arb_const_pi(g->tmp, prec);
        arb_mul_2exp_si(g->tmp, g->tmp, 1);
        arb_sqrt(g->tmp, g->tmp, prec);
        ok = to_fixed(c0, g->tmp, F);
    }
    if (first < a) {
        arb_set_si(g->inv_e2, -2);
        arb_exp(g->inv_e2, g->inv_e2, prec);
        prec = gen_prec(g, g->top[first], g->slack);
        arb_set_si(g->running, 2 * (a - first));
        arb_exp(g->running, g->running, prec);
        if (first > 2) {
            fmpz_t f;
            fmpz_init(f);
            product_range(f, 2, (ulong) first);
            fmpz_mul(f, f, f);
            arb_div_fmpz(g->running, g->running, f, prec);
            fmpz_clear(f);
        }
    }
    return ok;
}

/* The next coefficient C_k (k = g->k), then advance: c_k = j^k sqrt(r_k^2 / j), j = a - k
 * (one square root of a long number costs less than 1/sqrt(j) and a product).  The long
 * operands (r_k^2, e^-2) are rounded to the precision of the step first: Arb multiplies whole
 * mantissas, and this halves the cost; the balls stay exact enclosures. */
static void gen_next(coeff_gen *g, mpz_t out)
{
    slong k = g->k, a = g->a, j = a - k, extra = COEFF_GUARD_BITS, prec;
    arb_t base, c, r;
    arb_init(base); arb_init(c); arb_init(r);
    for (;;) {
        prec = gen_prec(g, g->sizes[k], extra);
        arb_set_si(base, j);
        arb_pow_ui(c, base, (ulong) k, prec);
        arb_set_round(r, g->running, prec);
        arb_div_ui(r, r, (ulong) j, prec);
        arb_sqrt(r, r, prec);
        arb_mul(c, c, r, prec);
        if (to_fixed(out, c, g->F)) break;
        extra += 64;
    }
    if (k % 2 == 0) mpz_neg(out, out);
    if (k + 1 < a) {
        prec = gen_prec(g, g->top[k + 1], g->slack);
        arb_set_round(g->tmp, g->inv_e2, prec);
        arb_mul(g->running, g->running, g->tmp, prec);
        arb_div_ui(g->running, g->running, (ulong) k * (ulong) k, prec);
    }
    g->k++;
    arb_clear(base); arb_clear(c); arb_clear(r);
}

static void gen_clear(coeff_gen *g)
{
    flint_free(g->sizes); flint_free(g->top);
    arb_clear(g->running); arb_clear(g->inv_e2); arb_clear(g->tmp);
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

/* The Python-side source of tables (the disk cache / parallel generator that serves
 * coefficients.CACHE): provider(a, F) -> sequence of a ints (C_0..C_{a-1}) or None.
 * Any error or malformed answer is ignored and the table is made here instead. */
static PyObject *table_provider = NULL;
static long provider_tables = 0;

/* Any integer-like object (int, gmpy2.mpz) to an mpz: through its bytes where CPython
 * offers them (O(n), ~memcpy speed: a 10000-digit table is ~70 MB), else through hex. */
static int obj_to_mpz(mpz_t out, PyObject *obj)
{
    PyObject *idx, *mag;
    int neg, ok = 0;
    idx = PyNumber_Index(obj);  /* int, gmpy2.mpz, ... */
    if (idx == NULL) return 0;
    neg = PyObject_RichCompareBool(idx, Py_False, Py_LT);  /* Py_False == 0 */
    mag = neg ? PyNumber_Negative(idx) : (Py_INCREF(idx), idx);
    Py_DECREF(idx);
    if (mag == NULL || neg < 0) { Py_XDECREF(mag); return 0; }
#if PY_VERSION_HEX < 0x030D0000
    {
        size_t nbits = _PyLong_NumBits(mag), nbytes = nbits / 8 + 1;
        unsigned char *buf = (unsigned char *) PyMem_Malloc(nbytes);
        if (buf != NULL && nbits != (size_t) -1
            && _PyLong_AsByteArray((PyLongObject *) mag, buf, nbytes, 1, 0) == 0) {
            mpz_import(out, nbytes, -1, 1, 0, 0, buf);
            ok = 1;
        }
        PyMem_Free(buf);
    }
#else
    {
        Py_ssize_t nbytes = PyLong_AsNativeBytes(mag, NULL, 0, Py_ASNATIVEBYTES_LITTLE_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
        unsigned char *buf = nbytes > 0 ? (unsigned char *) PyMem_Malloc((size_t) nbytes) : NULL;
        if (buf != NULL && PyLong_AsNativeBytes(mag, buf, nbytes, Py_ASNATIVEBYTES_LITTLE_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER) >= 0) {
            mpz_import(out, (size_t) nbytes, -1, 1, 0, 0, buf);
            ok = 1;
        }
        PyMem_Free(buf);
    }
#endif
    Py_DECREF(mag);
    if (ok && neg) mpz_neg(out, out);
    return ok;
}

static int table_from_provider(table *t)
{
    PyObject *res, *seq = NULL;
    slong k;
    int ok = 0;
    if (table_provider == NULL) return 0;
    res = PyObject_CallFunction(table_provider, "nn", (Py_ssize_t) t->a, (Py_ssize_t) t->F);
    if (res != NULL && res != Py_None) {
        seq = PySequence_Fast(res, "table");
        if (seq != NULL && PySequence_Fast_GET_SIZE(seq) == t->a) {
            PyObject **items = PySequence_Fast_ITEMS(seq);
            ok = 1;
            for (k = 0; k < t->a && ok; k++) ok = obj_to_mpz(t->c[k], items[k]);
        }
    }
    Py_XDECREF(seq);
    Py_XDECREF(res);
    if (PyErr_Occurred()) {
        /* An ordinary error in the provider (a disk problem) only costs the provider: the table is made here.
         * Anything else (KeyboardInterrupt, the server's inline watchdog) is the caller's and goes up. */
        if (!PyErr_ExceptionMatches(PyExc_Exception)) return -1;
        PyErr_Clear();
        ok = 0;
    }
    if (ok) provider_tables++;
    return ok;
}

/* Every this many coefficients made in C, let Python's signal handlers run (a watchdog may abort). */
#define SIGNAL_CHECK_EVERY 32

static int make_table(mpz_t *c, slong a, slong F);

/* Cached table for (a, F), building it if needed; NULL if too big to keep or on failure. */
static table *get_table(slong a, slong F, int *too_big)
{
    table *t;
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
    if (estimated_bits(a, F) > cache_budget_bits) { *too_big = 1; return NULL; }
    t = (table *) flint_malloc(sizeof(table));
    t->a = a; t->F = F; t->bits = 0.0;
    t->c = (mpz_t *) flint_malloc(sizeof(mpz_t) * a);
    for (k = 0; k < a; k++) mpz_init(t->c[k]);
    switch (table_from_provider(t)) {
    case -1:
        table_free(t);
        return NULL;  /* with the provider's exception set */
    case 0:
        if (!make_table(t->c, a, F)) { table_free(t); return NULL; }
        break;
    default:
        break;
    }
    for (k = 0; k < a; k++) t->bits += (double) mpz_sizeinbase(t->c[k], 2);
    lru_push(t);
    lru_bits += t->bits;
    while (lru_bits > cache_budget_bits && lru_head && lru_head->next) {
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

#define CHAINS 4

/* Limb j of |C| * 2^sh (C of n limbs), any j >= 0: bounds-checked (the few top limbs). */
static inline mp_limb_t shifted_limb(const mp_limb_t *np, mp_size_t n, unsigned sh, mp_size_t j)
{
    mp_limb_t hi = j < n ? np[j] << sh : 0;
    mp_limb_t lo = (j >= 1 && j - 1 < n) ? (np[j - 1] >> (63 - sh)) >> 1 : 0;
    return hi | lo;
}

/* sum_{k=1}^{a-1} floor(C_k / d_k), d_k = d0 + k*dq (all < 2^64), added to acc.
 * Blocks of CHAINS terms step in lockstep (4 independent division chains keep the
 * multiplier busy: 2.1x faster than mpn_divrem_1 here).  Each divisor is normalized
 * and the numerator shifted on the fly, limb by limb, so a table too big for the
 * caches (10000 digits: ~70 MB) is read once, straight from memory; the top limbs
 * (where the block's numerators differ in length) take the bounds-checked path. */
static void sum_floors_range(mpz_t acc, mpz_t *c, slong k_begin, slong k_end, ulong d0, ulong dq)
{
    slong k, negative_inexact = 0, a = k_end;
    mp_size_t maxn = 0, w, j;
    mp_limb_t *q, *accp, *accn;
    int i;
    for (k = k_begin; k < k_end; k++) if ((mp_size_t) mpz_size(c[k]) > maxn) maxn = (mp_size_t) mpz_size(c[k]);
    w = maxn + 1;
    q = (mp_limb_t *) flint_malloc(sizeof(mp_limb_t) * (CHAINS * w + 2 * (w + 1)));
    accp = q + CHAINS * w;          /* sums of the positive and the negative quotients, */
    accn = accp + (w + 1);          /* w + 1 limbs each: room for 2^64 terms' carries */
    for (j = 0; j < 2 * (w + 1); j++) accp[j] = 0;
    for (k = k_begin; k < k_end; k += CHAINS) {
        int m = (int) (a - k < CHAINS ? a - k : CHAINS), sg[CHAINS];
        mp_limb_t dn[CHAINS], v[CHAINS], r[CHAINS];
        const mp_limb_t *np[CHAINS];
        mp_size_t n[CHAINS], top = 0, low;
        unsigned sh[CHAINS];
        static const mp_limb_t zero_limb[1] = {0};
        for (i = 0; i < CHAINS; i++) {
            if (i < m) {
                mpz_srcptr ck = c[k + i];
                mp_limb_t d = d0 + (ulong) (k + i) * dq;
                n[i] = (mp_size_t) mpz_size(ck);
                np[i] = n[i] ? mpz_limbs_read(ck) : zero_limb;
                sg[i] = mpz_sgn(ck);
                sh[i] = (unsigned) __builtin_clzll(d);
                dn[i] = d << sh[i];
                v[i] = (mp_limb_t) ((((u128) ~dn[i]) << 64 | ~(mp_limb_t) 0) / dn[i]);
            } else {  /* idle lane: 0 / 2^63 */
                n[i] = 0; np[i] = zero_limb; sg[i] = 0; sh[i] = 0;
                dn[i] = (mp_limb_t) 1 << 63;
                v[i] = ~(mp_limb_t) 0;
            }
            if (n[i] > top) top = n[i];
            r[i] = 0;
        }
        low = n[0];
        for (i = 1; i < CHAINS; i++) if (n[i] < low) low = n[i];
        /* limbs top .. low: checked; low-1 .. 1: unchecked; 0: low part is zero */
        {
            mp_limb_t r0 = 0, r1 = 0, r2 = 0, r3 = 0;
            mp_limb_t *q0p = q, *q1p = q + w, *q2p = q + 2 * w, *q3p = q + 3 * w;
            for (j = top; j >= low && j >= 0; j--) {
                DIV_STEP(q0p[j], r0, r0, shifted_limb(np[0], n[0], sh[0], j), dn[0], v[0]);
                DIV_STEP(q1p[j], r1, r1, shifted_limb(np[1], n[1], sh[1], j), dn[1], v[1]);
                DIV_STEP(q2p[j], r2, r2, shifted_limb(np[2], n[2], sh[2], j), dn[2], v[2]);
                DIV_STEP(q3p[j], r3, r3, shifted_limb(np[3], n[3], sh[3], j), dn[3], v[3]);
            }
            {
                const mp_limb_t *a0 = np[0], *a1 = np[1], *a2 = np[2], *a3 = np[3];
                const unsigned s0 = sh[0], s1 = sh[1], s2 = sh[2], s3 = sh[3];
                for (; j >= 1; j--) {
                    mp_limb_t u0 = (a0[j] << s0) | ((a0[j - 1] >> (63 - s0)) >> 1);
                    mp_limb_t u1 = (a1[j] << s1) | ((a1[j - 1] >> (63 - s1)) >> 1);
                    mp_limb_t u2 = (a2[j] << s2) | ((a2[j - 1] >> (63 - s2)) >> 1);
                    mp_limb_t u3 = (a3[j] << s3) | ((a3[j - 1] >> (63 - s3)) >> 1);
                    DIV_STEP(q0p[j], r0, r0, u0, dn[0], v[0]);
                    DIV_STEP(q1p[j], r1, r1, u1, dn[1], v[1]);
                    DIV_STEP(q2p[j], r2, r2, u2, dn[2], v[2]);
                    DIV_STEP(q3p[j], r3, r3, u3, dn[3], v[3]);
                }
                if (j == 0) {
                    DIV_STEP(q0p[0], r0, r0, a0[0] << s0, dn[0], v[0]);
                    DIV_STEP(q1p[0], r1, r1, a1[0] << s1, dn[1], v[1]);
                    DIV_STEP(q2p[0], r2, r2, a2[0] << s2, dn[2], v[2]);
                    DIV_STEP(q3p[0], r3, r3, a3[0] << s3, dn[3], v[3]);
                }
            }
            r[0] = r0; r[1] = r1; r[2] = r2; r[3] = r3;
        }
        for (i = 0; i < m; i++) {
            if (sg[i] == 0) continue;
            if (sg[i] > 0) mpn_add(accp, accp, w + 1, q + i * w, top + 1);
            else { mpn_add(accn, accn, w + 1, q + i * w, top + 1); if (r[i]) negative_inexact++; }  /* floor(-u/d) = -ceil(u/d) */
        }
    }
    {
        mpz_t pz, nz;
        mpz_add(acc, acc, mpz_roinit_n(pz, accp, w + 1));
        mpz_sub(acc, acc, mpz_roinit_n(nz, accn, w + 1));
    }
    mpz_sub_ui(acc, acc, (ulong) negative_inexact);
    flint_free(q);
}

/* Mode 2 (q >= 2^64): sum_{k} floor(C_k q / d_k) with d_k = p + k q < 2^128.
 * GMP divides by a two-limb d one 3-by-2 step per limb, latency-bound like
 * mpn_divrem_1; here four such divisions step in lockstep.  Each step is Moller and
 * Granlund's 3-by-2 division with a precomputed reciprocal (GMP's udiv_qr_3by2,
 * written with 128-bit integers); the quotients are exact floors. */
#define DIV3_STEP(qo, R, u0, D, v) do {                                                  \
        mp_limb_t n2_ = (mp_limb_t) ((R) >> 64), n1_ = (mp_limb_t) (R);                 \
        mp_limb_t d1_ = (mp_limb_t) ((D) >> 64), d0_ = (mp_limb_t) (D);                 \
        u128 p_ = (u128) n2_ * (v) + (((u128) n2_ << 64) | n1_);                        \
        mp_limb_t q_ = (mp_limb_t) (p_ >> 64), q0_ = (mp_limb_t) p_, m_;                \
        mp_limb_t r1_ = n1_ - d1_ * q_;                                                 \
        u128 r_ = ((((u128) r1_) << 64) | (u0)) - (D) - (u128) d0_ * q_;                \
        q_++;                                                                           \
        m_ = -(mp_limb_t) ((mp_limb_t) (r_ >> 64) >= q0_);                              \
        q_ += m_;                                                                       \
        r_ += (((u128) (m_ & d1_)) << 64) | (m_ & d0_);                                 \
        if (__builtin_expect(r_ >= (D), 0)) { q_++; r_ -= (D); }                        \
        (qo) = q_; (R) = r_;                                                            \
    } while (0)

static u128 mpz_get_u128(const mpz_t z)
{
    mp_size_t n = (mp_size_t) mpz_size(z);
    const mp_limb_t *l = mpz_limbs_read(z);
    return n == 0 ? 0 : (n == 1 ? (u128) l[0] : (((u128) l[1]) << 64) | l[0]);
}

/* floor((2^192 - 1) / D) - 2^64 for a normalized two-limb D (top bit set). */
static mp_limb_t reciprocal_3by2(u128 D)
{
    mp_limb_t num[3] = {~(mp_limb_t) 0, ~(mp_limb_t) 0, ~(mp_limb_t) 0}, den[2], qt[2], rem[2];
    den[0] = (mp_limb_t) D; den[1] = (mp_limb_t) (D >> 64);
    mpn_tdiv_qr(qt, rem, 0, num, 3, den, 2);
    return qt[0];  /* qt[1] == 1 */
}

static void sum_floors_2_range(mpz_t acc, mpz_t *c, slong k_begin, slong k_end, const mpz_t p, const mpz_t q)
{
    slong k, negative_inexact = 0;
    mp_size_t maxn = 0, w, j;
    mp_limb_t *u, *qb;
    u128 pv = mpz_get_u128(p), qv = mpz_get_u128(q);
    mp_limb_t ql[2] = {(mp_limb_t) qv, (mp_limb_t) (qv >> 64)};
    mp_size_t qn = ql[1] ? 2 : 1;
    int i;
    for (k = k_begin; k < k_end; k++) if ((mp_size_t) mpz_size(c[k]) > maxn) maxn = (mp_size_t) mpz_size(c[k]);
    w = maxn + qn + 1;
    u = (mp_limb_t *) flint_malloc(sizeof(mp_limb_t) * 2 * CHAINS * w);
    qb = u + CHAINS * w;
    for (k = k_begin; k < k_end; k += CHAINS) {
        int m = (int) (k_end - k < CHAINS ? k_end - k : CHAINS), sg[CHAINS];
        u128 D[CHAINS], R[CHAINS];
        mp_limb_t v[CHAINS];
        mp_size_t len = 0;
        for (i = 0; i < CHAINS; i++) {
            mp_limb_t *ui = u + i * w;
            mp_size_t n = 0, nn = 0;
            if (i < m) {
                mpz_srcptr ck = c[k + i];
                u128 d = pv + (u128) (ulong) (k + i) * qv;
                unsigned sh = (unsigned) __builtin_clzll((mp_limb_t) (d >> 64));  /* d >= q >= 2^64 */
                n = (mp_size_t) mpz_size(ck);
                sg[i] = mpz_sgn(ck);
                D[i] = d << sh;
                v[i] = reciprocal_3by2(D[i]);
                if (n) {  /* |C_k| q, shifted by sh, into ui[0 .. n + qn] */
                    mpn_mul(ui, mpz_limbs_read(ck), n, ql, qn);
                    nn = n + qn;
                    ui[nn] = sh ? mpn_lshift(ui, ui, nn, sh) : 0;
                    nn++;
                }
            } else {
                sg[i] = 0;
                D[i] = ((u128) 1) << 127;
                v[i] = reciprocal_3by2(D[i]);
            }
            if (n == 0) { ui[0] = 0; nn = 1; }
            if (nn > len) len = nn;
            R[i] = 0;
            (void) n;
        }
        for (i = 0; i < CHAINS; i++) {  /* zero-pad every lane to the block's length */
            mp_limb_t *ui = u + i * w;
            mp_size_t have = 0;
            if (i < m && mpz_size(c[k + i])) have = (mp_size_t) mpz_size(c[k + i]) + qn + 1;
            else have = 1;
            for (j = have; j < len; j++) ui[j] = 0;
        }
        {
            u128 R0 = 0, R1 = 0, R2 = 0, R3 = 0;
            const mp_limb_t *u0p = u, *u1p = u + w, *u2p = u + 2 * w, *u3p = u + 3 * w;
            mp_limb_t *q0p = qb, *q1p = qb + w, *q2p = qb + 2 * w, *q3p = qb + 3 * w;
            for (j = len - 1; j >= 0; j--) {
                DIV3_STEP(q0p[j], R0, u0p[j], D[0], v[0]);
                DIV3_STEP(q1p[j], R1, u1p[j], D[1], v[1]);
                DIV3_STEP(q2p[j], R2, u2p[j], D[2], v[2]);
                DIV3_STEP(q3p[j], R3, u3p[j], D[3], v[3]);
            }
            R[0] = R0; R[1] = R1; R[2] = R2; R[3] = R3;
        }
        for (i = 0; i < m; i++) {
            mpz_t qz;
            if (sg[i] == 0) continue;
            mpz_roinit_n(qz, qb + i * w, len);
            if (sg[i] > 0) mpz_add(acc, acc, qz);
            else { mpz_sub(acc, acc, qz); if (R[i]) negative_inexact++; }
        }
    }
    mpz_sub_ui(acc, acc, (ulong) negative_inexact);
    flint_free(u);
}

/* Large sums are split over threads (contiguous ranges of k, one accumulator each):
 * at 10000 digits the sum reads a ~70 MB table and is bound by one core's memory
 * bandwidth.  SPOUGE_CORE_THREADS caps the count (default: online CPUs, at most 4);
 * sums below SUM_THREAD_MIN_LIMBS limb-steps stay on the calling thread. */
#define SUM_THREAD_MIN_LIMBS 2000000
#define SUM_MAX_THREADS 8

typedef struct {
    mpz_t acc;
    mpz_t *c;
    slong k_begin, k_end;
    ulong d0, dq;           /* one-limb denominators d0 + k dq */
    mpz_srcptr p, q;        /* or, when p != NULL, mode 2: floor(C_k q / (p + k q)) */
} sum_job;

static void *sum_job_run(void *arg)
{
    sum_job *job = (sum_job *) arg;
    if (job->p != NULL) sum_floors_2_range(job->acc, job->c, job->k_begin, job->k_end, job->p, job->q);
    else sum_floors_range(job->acc, job->c, job->k_begin, job->k_end, job->d0, job->dq);
    return NULL;
}

static int sum_threads(void)
{
    static int cached = 0;
    if (cached == 0) {
        const char *env = getenv("SPOUGE_CORE_THREADS");
        long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
        if (!env && n > 4) n = 4;
        if (n < 1) n = 1;
        if (n > SUM_MAX_THREADS) n = SUM_MAX_THREADS;
        cached = (int) n;
    }
    return cached;
}

/* The sum over k = 1..a-1: one-limb denominators d0 + k dq (p2 == NULL), or mode 2. */
static void sum_floors(mpz_t acc, mpz_t *c, slong a, ulong d0, ulong dq, mpz_srcptr p2, mpz_srcptr q2)
{
    double work = 0;
    slong k;
    int t, nt = sum_threads();
    if (nt > 1) for (k = 1; k < a; k++) work += (double) mpz_size(c[k]);
    if (nt <= 1 || work < SUM_THREAD_MIN_LIMBS || a < 64 * nt) {
        if (p2 != NULL) sum_floors_2_range(acc, c, 1, a, p2, q2);
        else sum_floors_range(acc, c, 1, a, d0, dq);
        return;
    }
    {
        sum_job jobs[SUM_MAX_THREADS];
        pthread_t tid[SUM_MAX_THREADS];
        int started[SUM_MAX_THREADS];
        double share = work / nt, run = 0;
        slong begin = 1;
        k = 1;
        for (t = 0; t < nt; t++) {  /* equal limb counts per thread, ranges aligned to CHAINS */
            slong end = a;
            if (t < nt - 1) {
                while (k < a && run < share * (t + 1)) run += (double) mpz_size(c[k++]);
                end = begin + ((k - begin) / CHAINS) * CHAINS;
                if (end <= begin) end = begin;
            }
            mpz_init(jobs[t].acc);
            jobs[t].c = c; jobs[t].k_begin = begin; jobs[t].k_end = end; jobs[t].d0 = d0; jobs[t].dq = dq;
            jobs[t].p = p2; jobs[t].q = q2;
            begin = end;
            k = begin > k ? begin : k;
        }
        for (t = 1; t < nt; t++) started[t] = pthread_create(&tid[t], NULL, sum_job_run, &jobs[t]) == 0;
        sum_job_run(&jobs[0]);
        for (t = 1; t < nt; t++) {
            if (started[t]) pthread_join(tid[t], NULL);
            else sum_job_run(&jobs[t]);  /* no thread: do it here */
        }
        for (t = 0; t < nt; t++) { mpz_add(acc, acc, jobs[t].acc); mpz_clear(jobs[t].acc); }
    }
}

/* sum_{k=1}^{a-1} floor(C_k / d_k), d_k = d0 + k dq < 2^64, added to acc: the plain loop for short
 * sums (a few limbs per term, a few dozen terms), where the four-chain kernel's per-block set-up
 * costs more than it saves.  The same floors (floor(-u/d) = -ceil(u/d)), the same numbers. */
#define SMALL_SUM_MAX_A 48
static void sum_floors_small(mpz_t acc, mpz_t *c, slong a, ulong d0, ulong dq)
{
    mp_limb_t buf[2 * 64 + 8], *q, *accp, *accn;
    mp_size_t w = 0, n, j;
    slong k, negative_inexact = 0;
    for (k = 1; k < a; k++) if ((mp_size_t) mpz_size(c[k]) > w) w = (mp_size_t) mpz_size(c[k]);
    if (w > 40) { sum_floors(acc, c, a, d0, dq, NULL, NULL); return; }
    q = buf; accp = buf + w + 1; accn = accp + w + 2;
    for (j = 0; j < 2 * (w + 2); j++) accp[j] = 0;
    for (k = 1; k < a; k++) {
        mpz_srcptr ck = c[k];
        mp_limb_t r;
        n = (mp_size_t) mpz_size(ck);
        if (n == 0) continue;
        r = mpn_divrem_1(q, 0, mpz_limbs_read(ck), n, d0 + (ulong) k * dq);
        if (mpz_sgn(ck) > 0) mpn_add(accp, accp, w + 2, q, n);
        else { mpn_add(accn, accn, w + 2, q, n); if (r) negative_inexact++; }
    }
    {
        mpz_t pz, nz;
        mpz_add(acc, acc, mpz_roinit_n(pz, accp, w + 2));
        mpz_sub(acc, acc, mpz_roinit_n(nz, accn, w + 2));
    }
    mpz_sub_ui(acc, acc, (ulong) negative_inexact);
}

/* Mode 2 for short sums: sum_k floor(C_k q / d_k), d_k = p + k q < 2^128, by GMP's own
 * two-limb division (mpn_tdiv_qr) per term; the same exact floors as sum_floors_2_range. */
static void sum_floors_2_small(mpz_t acc, mpz_t *c, slong a, const mpz_t p, const mpz_t q)
{
    mp_limb_t u[48], qt[48], rem[2], dl[2];
    mp_limb_t ql[2];
    mp_size_t qn = (mp_size_t) mpz_size(q), n, nn, dn;
    u128 pv = mpz_get_u128(p), qv = mpz_get_u128(q);
    slong k, negative_inexact = 0;
    mpz_t pos, neg;
    for (k = 1; k < a; k++) if ((mp_size_t) mpz_size(c[k]) + qn > 44) { sum_floors(acc, c, a, 0, 0, p, q); return; }
    ql[0] = (mp_limb_t) qv; ql[1] = (mp_limb_t) (qv >> 64);
    mpz_init(pos); mpz_init(neg);
    for (k = 1; k < a; k++) {
        mpz_srcptr ck = c[k];
        u128 d = pv + (u128) (ulong) k * qv;
        mpz_t qz;
        n = (mp_size_t) mpz_size(ck);
        if (n == 0) continue;
        dl[0] = (mp_limb_t) d; dl[1] = (mp_limb_t) (d >> 64);
        dn = dl[1] ? 2 : 1;
        if (n >= qn) mpn_mul(u, mpz_limbs_read(ck), n, ql, qn); else mpn_mul(u, ql, qn, mpz_limbs_read(ck), n);
        nn = n + qn;
        while (nn > 0 && u[nn - 1] == 0) nn--;
        if (nn < dn) { if (mpz_sgn(ck) < 0) negative_inexact++; continue; }  /* quotient 0, remainder u != 0 */
        mpn_tdiv_qr(qt, rem, 0, u, nn, dl, dn);
        mpz_roinit_n(qz, qt, nn - dn + 1);
        if (mpz_sgn(ck) > 0) mpz_add(pos, pos, qz);
        else { mpz_add(neg, neg, qz); if (rem[0] || (dn == 2 && rem[1])) negative_inexact++; }
    }
    mpz_add(acc, acc, pos);
    mpz_sub(acc, acc, neg);
    mpz_sub_ui(acc, acc, (ulong) negative_inexact);
    mpz_clear(pos); mpz_clear(neg);
}

/* ---------------- coefficients made on threads: streamed sums and new tables ----------------
 * The k-range 1..a-1 is cut into chunks of about equal estimated work; each thread takes the
 * next chunk from a shared counter, starts its own generator there (gen_init_at) and either
 * stores C_k into a table or adds the exact floors of its terms into the chunk's own partial
 * sum.  Worker threads touch no Python object; the calling thread (which holds the GIL) works
 * too, and between its coefficients, and while it waits for the others, runs Python's signal
 * handlers (^C, the server's watchdog) and the progress reporter: if either raises, a flag
 * stops every thread after its current coefficient and the exception goes up. */

static PyObject *progress_current = NULL;  /* set_progress(): progress.current, asked before a long phase */
#define PROGRESS_MIN_A 1000                    /* smaller tables take milliseconds: no reports */

typedef struct {
    slong a, F;
    mpz_srcptr p, q;        /* sums: z = p/q, denominators p + k q */
    int use_ui;             /* p + (a-1) q and q fit a limb */
    ulong p_ui, q_ui;
    mpz_t *table;           /* tables: C_k goes to table[k] */
    arb_ptr sums;           /* or sums: chunk i's ball of sum c_k/(z+k) (stream_horner_chunk) */
    slong nchunks;
    slong *bounds;          /* chunk i = [bounds[i], bounds[i + 1]) */
    int next_chunk, finished, abort;  /* __atomic */
    slong done;             /* __atomic: coefficients made (C_0 counted by the caller) */
    PyObject *reporter;     /* calling thread only */
    slong reported, report_step;
} stream_job;

/* The calling thread's check between coefficients: 0 = stop (a Python exception is set). */
static int stream_poll(stream_job *job)
{
    slong done;
    if (PyErr_CheckSignals() < 0) return 0;
    done = __atomic_load_n(&job->done, __ATOMIC_RELAXED) + 1;  /* + C_0 */
    if (job->reporter != NULL && (done - job->reported >= job->report_step || done == job->a)) {
        PyObject *res = PyObject_CallFunction(job->reporter, "snn", "coefficients", (Py_ssize_t) done, (Py_ssize_t) job->a);
        if (res == NULL) return 0;
        Py_DECREF(res);
        job->reported = done;
    }
    return 1;
}

/* One coefficient made: count it; stop if told to (workers) or if Python says so (the caller). */
static int stream_step(stream_job *job, int is_main)
{
    __atomic_add_fetch(&job->done, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&job->abort, __ATOMIC_RELAXED)) return 0;
    if (is_main && !stream_poll(job)) {
        __atomic_store_n(&job->abort, 1, __ATOMIC_RELAXED);
        return 0;
    }
    return 1;
}

/* Chunk i of a new table: its coefficients into table[kb..ke). 0 = stopped. */
static int stream_chunk(stream_job *job, slong i, int is_main)
{
    slong kb = job->bounds[i], ke = job->bounds[i + 1], k;
    coeff_gen g;
    int ok = 1;
    if (kb >= ke) return 1;
    gen_init_at(&g, job->a, job->F, kb, NULL);
    for (k = kb; k < ke && ok; k++) {
        gen_next(&g, job->table[k]);
        ok = stream_step(job, is_main);
    }
    gen_clear(&g);
    return ok;
}

/* Chunk i of a streamed sum as a ball: sums[i] = sum_{k in chunk} c_k / (z + k), by Horner's rule in
 * e^-1 from the chunk's top down,
 *     H = Y_k + H e^-1 / k,   Y_k = (-1)^(k-1) j^k / sqrt(j) / (z + k),  j = a - k,
 * so that sum c_k/(z+k) = H_kb e^(a-kb)/(kb-1)!  (one exp and one exact product per chunk).  Per term:
 * a power, 1/sqrt(j), one product and the Horner product by e^-1 (the table generator needs a long
 * square root instead of 1/sqrt(j)); the divisions by k and z + k are by short integers.
 * Precisions: Y_k at F + log2|c_k| + guard, H_k at F + max_{k <= m < ke} log2|c_m| + slack: a
 * rounding in H_k reaches the sum multiplied by e^(a-k+1)/(k-1)!, i.e. at most 2^-F-slack a times the
 * chunk's tail of |c_m|; every step is a ball operation, so sums[i] encloses the exact chunk sum
 * whatever happens (the precisions only decide how narrow). */
static int stream_horner_chunk(stream_job *job, slong i, int is_main)
{
    slong kb = job->bounds[i], ke = job->bounds[i + 1], a = job->a, k, j, prec;
    coeff_gen g;  /* for its sizes and suffix maxima (gen_init_at at k = a makes no running factor) */
    arb_t h, y, r, e1;
    fmpz_t fd, fq;
    double local_top;  /* max log2|c_m| over m = k..ke-1: only this chunk's tail meets H_k's roundings */
    int ok = 1;
    arb_zero(job->sums + i);
    if (kb >= ke) return 1;
    gen_init_at(&g, a, job->F, a, NULL);
    local_top = g.sizes[ke - 1];
    arb_init(h); arb_init(y); arb_init(r); arb_init(e1);
    fmpz_init(fd); fmpz_init(fq);
    fmpz_set_mpz(fq, job->q);
    prec = gen_prec(&g, g.top[kb], g.slack);
    arb_set_si(e1, -1);
    arb_exp(e1, e1, prec);
    for (k = ke - 1; k >= kb && ok; k--) {
        slong extra = COEFF_GUARD_BITS, yprec;
        j = a - k;
        yprec = gen_prec(&g, g.sizes[k], extra);
        arb_set_si(r, j);
        arb_pow_ui(y, r, (ulong) k, yprec);
        arb_rsqrt(r, r, yprec);
        arb_mul(y, y, r, yprec);
        if (job->use_ui) {                                  /* z + k = (p + k q) / q, p + k q < 2^64 */
            if (job->q_ui != 1) arb_mul_ui(y, y, job->q_ui, yprec);
            arb_div_ui(y, y, job->p_ui + (ulong) k * job->q_ui, yprec);
        } else {
            fmpz_set_mpz(fd, job->p);
            fmpz_addmul_ui(fd, fq, (ulong) k);
            arb_mul_fmpz(y, y, fq, yprec);
            arb_div_fmpz(y, y, fd, yprec);
        }
        if (k % 2 == 0) arb_neg(y, y);
        if (g.sizes[k] > local_top) local_top = g.sizes[k];
        prec = gen_prec(&g, local_top, g.slack);
        if (k == ke - 1) arb_set(h, y);
        else {
            arb_set_round(r, e1, prec);
            arb_mul(h, h, r, prec);
            arb_div_ui(h, h, (ulong) k, prec);
            arb_add(h, h, y, prec);
        }
        ok = stream_step(job, is_main);
    }
    if (ok) {  /* times e^(a-kb)/(kb-1)! */
        prec = gen_prec(&g, g.top[kb], g.slack);
        arb_set_si(r, a - kb);
        arb_exp(r, r, prec);
        if (kb > 2) {
            product_range(fd, 2, (ulong) kb);
            arb_div_fmpz(r, r, fd, prec);
        }
        arb_mul(job->sums + i, h, r, prec);
    }
    arb_clear(h); arb_clear(y); arb_clear(r); arb_clear(e1);
    fmpz_clear(fd); fmpz_clear(fq);
    gen_clear(&g);
    return ok;
}

static int stream_work(stream_job *job, int is_main)
{
    for (;;) {
        slong i = __atomic_fetch_add(&job->next_chunk, 1, __ATOMIC_RELAXED);
        if (i >= job->nchunks) return 1;
        if (!(job->sums != NULL ? stream_horner_chunk(job, i, is_main) : stream_chunk(job, i, is_main))) return 0;
    }
}

static void *stream_thread(void *arg)
{
    stream_job *job = (stream_job *) arg;
    stream_work(job, 0);
    __atomic_add_fetch(&job->finished, 1, __ATOMIC_RELEASE);
    flint_cleanup();  /* this thread's FLINT/Arb caches (constants) */
    return NULL;
}

/* Make C_1..C_{a-1} at fraction bits F on sum_threads() threads, into table (if not NULL),
 * or add sum_{k=1}^{a-1} c_k/(z+k), z = p/q, to the ball `ball` (absolute accuracy ~2^-F).
 * 1 = done; 0 = stopped, with a Python exception set (signal handler or reporter). */
static int stream_coefficients(mpz_t *table, slong a, slong F, mpz_srcptr p, mpz_srcptr q, arb_ptr ball)
{
    stream_job job;
    pthread_t tid[SUM_MAX_THREADS];
    int started[SUM_MAX_THREADS];
    int nt = sum_threads(), t, ok, ran = 0;
    slong i, k, nch;
    double *w, total = 0, run = 0, log_fact = 0, top = 0;

    memset(&job, 0, sizeof(job));
    job.a = a; job.F = F; job.p = p; job.q = q; job.table = table;
    if (table == NULL) {  /* the largest denominator p + (a-1) q, and q, in a limb? */
        mpz_t d;
        mpz_init(d);
        mpz_mul_ui(d, q, (ulong) (a - 1));
        mpz_add(d, d, p);
        job.use_ui = mpz_fits_ulong_p(d) && mpz_fits_ulong_p(q);
        if (job.use_ui) { job.p_ui = mpz_get_ui(p); job.q_ui = mpz_get_ui(q); }
        mpz_clear(d);
    }
    job.report_step = a / 200 > 0 ? a / 200 : 1;
    if (progress_current != NULL && a >= PROGRESS_MIN_A) {
        PyObject *r = PyObject_CallNoArgs(progress_current);
        if (r == NULL) return 0;
        if (r != Py_None) job.reporter = r; else Py_DECREF(r);
    }
    /* estimated work of C_k: M(prec_k), prec_k = F + log2|c_k|; chunks of equal work */
    w = (double *) flint_malloc(sizeof(double) * a);
    w[0] = 0;
    for (k = 1; k < a; k++) {
        slong j = a - k;
        double size = ((k - 0.5) * log((double) j) + j - log_fact) * LOG2_E, prec = F + size;
        log_fact += log((double) k);
        if (size > top) top = size;
        w[k] = prec < 64 ? 64.0 : pow(prec, 1.1);
        total += w[k];
    }
    if (nt > 1 && a < 256 * nt) nt = 1;
    nch = nt == 1 ? 1 : 4 * nt;  /* ~0.25 s to start a chunk at 100000 digits; 4 per thread even out the load */
    job.nchunks = nch;
    job.bounds = (slong *) flint_malloc(sizeof(slong) * (nch + 1));
    if (ball != NULL) job.sums = _arb_vec_init(nch);
    job.bounds[0] = 1;
    for (i = 0, k = 1; i < nch; i++) {
        while (k < a && run < total * (i + 1) / nch) run += w[k++];
        job.bounds[i + 1] = i == nch - 1 ? a : k;
    }
    flint_free(w);
    for (t = 1; t < nt; t++) started[t] = pthread_create(&tid[t], NULL, stream_thread, &job) == 0;
    ok = stream_work(&job, 1);
    /* wait for the others, still answering signals and the reporter */
    for (t = 1; t < nt; t++) ran += started[t];
    while (__atomic_load_n(&job.finished, __ATOMIC_ACQUIRE) < ran) {
        struct timespec pause = {0, 2000000};
        if (ok && !stream_poll(&job)) { ok = 0; __atomic_store_n(&job.abort, 1, __ATOMIC_RELAXED); }
        nanosleep(&pause, NULL);
    }
    for (t = 1; t < nt; t++) if (started[t]) pthread_join(tid[t], NULL);
    if (ok && !stream_poll(&job)) ok = 0;  /* the last report (done == a) */
    if (ball != NULL) {
        for (i = 0; ok && i < nch; i++)
            arb_add(ball, ball, job.sums + i, F + (slong) top + 2 * COEFF_GUARD_BITS + bit_length_si(a));
        _arb_vec_clear(job.sums, nch);
    }
    flint_free(job.bounds);
    Py_XDECREF(job.reporter);
    return ok;
}

/* log2 of a lower bound of the streamed sum S(z) = c_0 + sum c_k/(z+k), from
 * S = z! e^(z+a) (z+a)^-(z+1/2) (1 + tiny) and z! >= max(0.8856, sqrt(2 pi z)(z/e)^z)
 * (Stirling's series has a positive remainder for z > 0; min of Gamma on (1, 2) is 0.8856...).
 * In doubles with 2 bits to spare; 0 (no claim) when z is not small enough for doubles. */
static double stream_log2_sum_lower(slong a, const mpz_t p, const mpz_t q)
{
    long ep, eq;
    double mp = mpz_get_d_2exp(&ep, p), mq = mpz_get_d_2exp(&eq, q), z, lnfact, ln_s;
    if (mpz_sgn(p) == 0) z = 0;
    else {
        if (ep - eq > 40) return 0;
        z = ldexp(mp / mq, (int) (ep - eq < -1000 ? -1000 : ep - eq));
    }
    lnfact = -0.1216;
    if (z > 0) {
        double st = (z + 0.5) * log(z) - z + 0.5 * log(2 * 3.141592653589793);
        if (st > lnfact) lnfact = st;
    }
    ln_s = lnfact + (z + a) - (z + 0.5) * log(z + a);
    return ln_s * LOG2_E - 2;
}

/* C_0..C_{a-1} into c[] (a >= 1), C_1.. on threads.  0 = stopped or failed, with a Python exception set. */
static int make_table(mpz_t *c, slong a, slong F)
{
    coeff_gen g;
    int ok = gen_init_at(&g, a, F, a, c[0]);  /* C_0 only */
    gen_clear(&g);
    if (!ok) {  /* not reached: the precision of C_0 has 30 bits to spare */
        PyErr_SetString(PyExc_ArithmeticError, "spouge._core: internal: coefficient ball too wide");
        return 0;
    }
    return stream_coefficients(c, a, F, NULL, NULL, NULL);
}

/* S(p/q) = c_0 + sum_{k=1}^{a-1} c_k/(z+k) for a table too large to keep: streamed, never stored,
 * as a ball made on threads (stream_coefficients, Horner's rule per chunk) to an absolute accuracy
 * of ~2^-F', F' = F - shift, where 2^(shift + 16) <= S is proven (stream_log2_sum_lower): relative
 * to S that is no worse than the table path's (2a or a q + a) 2^-F for S >= 2^-16, and S >= 0.88
 * for every z >= 0.  The ball is Arb's enclosure of the exact sum (no fixed-point bound needed).
 * At 100000 digits, x = 0.5, S ~ 2^180900: every term is made with 180000 fewer bits. */
static int stream_sum(arb_t s, slong a, slong F, const mpz_t p, const mpz_t q)
{
    double lower = stream_log2_sum_lower(a, p, q);
    slong shift = lower > 16 + 1 ? (slong) floor(lower) - 16 : 0;
    arb_t c0;
    cache_streams++;
    if (shift > F - 64) shift = F - 64 > 0 ? F - 64 : 0;
    F -= shift;
    arb_zero(s);
    if (!stream_coefficients(NULL, a, F, p, q, s)) return 0;
    arb_init(c0);  /* + c_0 = sqrt(2 pi) */
    arb_const_pi(c0, F + 64);
    arb_mul_2exp_si(c0, c0, 1);
    arb_sqrt(c0, c0, F + 64);
    arb_add(s, s, c0, F + 64 + (slong) (lower > 0 ? lower : 0));
    arb_clear(c0);
    return 1;
}

/* S(p/q) for p/q >= 0 as a ball (engine._real_sum). Returns 0 on failure.
 * From the cached table: exact floor divisions, proven error 2a units of 2^-F (or a q + a when
 * q < 2^64 is factored out); tables too large to keep: stream_sum. */
static int real_sum(arb_t s, slong a, slong F, const mpz_t p, const mpz_t q)
{
    size_t d_bits;
    int too_big, use_ui, mode;
    table *t = get_table(a, F, &too_big);
    mpz_t total, acc, tmp, d, err;
    ulong dui = 0, qui = 0;
    slong k;
    fmpz_t ft;
    mag_t m;

    if (t == NULL) return too_big ? stream_sum(s, a, F, p, q) : 0;
    mpz_init(total); mpz_init(acc); mpz_init(tmp); mpz_init(d); mpz_init(err);
    mode = mpz_cmp_ui(q, 1) == 0 ? 0 : (mpz_sizeinbase(q, 2) <= Q_HEADROOM_BITS ? 1 : 2);
    /* denominators p + k q, k = 1..a-1: ulong if the largest fits */
    mpz_mul_ui(d, q, (ulong) (a - 1));
    mpz_add(d, d, p);
    d_bits = mpz_sizeinbase(d, 2);  /* the largest denominator, before d is reused */
    use_ui = mpz_fits_ulong_p(d) && mpz_fits_ulong_p(q);
    {
        mpz_set(total, t->c[0]);
        if (use_ui) { qui = mpz_get_ui(q); dui = mpz_get_ui(p); }
        else mpz_set(d, p);
        if (use_ui && mode != 2) {
            if (a <= SMALL_SUM_MAX_A) sum_floors_small(mode == 0 ? total : acc, t->c, a, dui, qui);
            else sum_floors(mode == 0 ? total : acc, t->c, a, dui, qui, NULL, NULL);
        }
        else if (mode == 2 && d_bits <= 128) {
            if (a <= SMALL_SUM_MAX_A) sum_floors_2_small(total, t->c, a, p, q);
            else sum_floors(total, t->c, a, 0, 0, p, q);  /* d = p + (a-1) q < 2^128 here */
        }
        else for (k = 1; k < a; k++) {
            if (use_ui) dui += qui; else mpz_add(d, d, q);
            if (mode == 2) {
                mpz_mul(tmp, t->c[k], q);
                if (use_ui) mpz_fdiv_q_ui(tmp, tmp, dui); else mpz_fdiv_q(tmp, tmp, d);
                mpz_add(total, total, tmp);
            } else {
                if (use_ui) mpz_fdiv_q_ui(tmp, t->c[k], dui); else mpz_fdiv_q(tmp, t->c[k], d);
                if (mode == 0) mpz_add(total, total, tmp); else mpz_add(acc, acc, tmp);
            }
        }
    }
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
    mpz_clear(total); mpz_clear(acc); mpz_clear(tmp); mpz_clear(d); mpz_clear(err);
    return 1;
}

/* ---------------- large z: the sum re-expanded in 1/z (engine._large_sum) ----------------
 * 1/(z+k) = sum_{j<=J} (-k)^j / z^(j+1) + (-k)^(J+1) / (z^(J+1) (z+k)), so
 *     S(z) = C_0 + sum_{j<=J} m_j / z^(j+1) + tail,  m_j = sum_{k=1}^{a-1} C_k (-k)^j,
 *     |tail| <= sum |C_k| k^(J+1) / z^(J+2) <= S (a-1)^(J+1) / z^(J+2),  S = sum |C_k|
 * (units 2^-F).  The same integers, the same J, the same Horner as the Python engine,
 * so both cores make the same ball: J is the least with the tail <= 2^E units (2^E <= a),
 * from integer log2 bounds (log2_lower); Horner keeps term j at the scale 2^t_j,
 * t_j = floor(j lz / 2^16) <= j log2 z, and errs below by < 1 + 2(J+1) units; the
 * C_k add <= a units.  Moments are exact, made once per table (a, F) by a product tree
 * of sum_k C_k / (1 + k t) truncated at t^n and one power-series division, kept in an
 * LRU bounded by a quarter of the table budget.  They are made only once a table has
 * seen large_z_wait * (J + 1) eligible calls (the direct sum serves until then: the
 * moments cost about that many direct sums), and used only where J + 1 <= (a-1)/ratio. */
#define LOG_FRAC 16
static long large_z_wait = 2, large_z_ratio = 2;
/* engine.LARGE_Z_MAX_WORK: moments are one uninterruptible FLINT computation, kept short */
#define LARGE_Z_MAX_WORK 2000000.0

/* L <= 2^16 log2 x < L + 2 for x >= 1: integer-only, as engine.log2_lower. */
static slong log2_lower(const mpz_t x)
{
    slong n = (slong) mpz_sizeinbase(x, 2) - 1, r = 0;
    mp_limb_t m;
    int i;
    if (n <= 62) m = mpz_get_ui(x) << (62 - n);
    else {
        mpz_t t;
        mpz_init(t);
        mpz_fdiv_q_2exp(t, x, (mp_bitcnt_t) (n - 62));
        m = mpz_get_ui(t);
        mpz_clear(t);
    }
    for (i = 0; i < LOG_FRAC; i++) {
        m = (mp_limb_t) (((u128) m * m) >> 62);
        r <<= 1;
        if (m >> 63) { m >>= 1; r |= 1; }
    }
    return n * ((slong) 1 << LOG_FRAC) + r;
}

static slong log2_lower_ui(ulong v)
{
    mpz_t x;
    slong r;
    mpz_init_set_ui(x, v);
    r = log2_lower(x);
    mpz_clear(x);
    return r;
}

typedef struct moments {
    slong a, F, n;              /* m_0 .. m_{n-1} (n = 0: not made yet) */
    mpz_t *m;
    mpz_t total;                /* S = sum_{k>=1} |C_k| */
    long seen;                  /* eligible calls so far */
    double bits;
    struct moments *prev, *next;
} moments;

static moments *mom_head = NULL;
static double mom_bits = 0.0;
static long moments_made = 0, large_z_calls = 0;

static void moments_free(moments *e)
{
    slong j;
    for (j = 0; j < e->n; j++) mpz_clear(e->m[j]);
    flint_free(e->m);
    mpz_clear(e->total);
    flint_free(e);
}

static void mom_unlink(moments *e)
{
    if (e->prev) e->prev->next = e->next; else mom_head = e->next;
    if (e->next) e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

static void mom_push(moments *e)
{
    e->prev = NULL; e->next = mom_head;
    if (mom_head) mom_head->prev = e;
    mom_head = e;
}

static void mom_evict(void)
{
    while (mom_bits > cache_budget_bits / 4 && mom_head && mom_head->next) {
        moments *last = mom_head;
        while (last->next) last = last->next;
        mom_unlink(last);
        mom_bits -= last->bits;
        moments_free(last);
    }
}

static moments *mom_entry(const table *t)
{
    moments *e;
    slong k;
    for (e = mom_head; e; e = e->next) {
        if (e->a == t->a && e->F == t->F) { mom_unlink(e); mom_push(e); return e; }
    }
    e = (moments *) flint_malloc(sizeof(moments));
    e->a = t->a; e->F = t->F; e->n = 0; e->m = NULL; e->seen = 0;
    mpz_init(e->total);
    for (k = 1; k < t->a; k++) {
        if (mpz_sgn(t->c[k]) >= 0) mpz_add(e->total, e->total, t->c[k]);
        else mpz_sub(e->total, e->total, t->c[k]);
    }
    e->bits = (double) mpz_sizeinbase(e->total, 2);
    mom_bits += e->bits;
    mom_push(e);
    mom_evict();
    return e;
}

/* FLINT's default picks schoolbook products for short polynomials with long coefficients
 * (the moments' case: a few hundred terms of thousands of bits); Kronecker substitution
 * into one GMP product is many times faster there. */
static void moment_mullow(fmpz_poly_t r, const fmpz_poly_t x, const fmpz_poly_t y, slong n)
{
    if (fmpz_poly_length(x) == 0 || fmpz_poly_length(y) == 0) { fmpz_poly_zero(r); return; }
    if (fmpz_poly_length(x) < 8 || fmpz_poly_length(y) < 8) fmpz_poly_mullow(r, x, y, n);
    else fmpz_poly_mullow_KS(r, x, y, n);
}

/* The product tree over k in [lo, hi): N/D = sum C_k / (1 + k t), both mod t^n. */
static void moment_tree(fmpz_poly_t N, fmpz_poly_t D, const table *t, slong lo, slong hi, slong n)
{
    if (hi - lo == 1) {
        fmpz_t c;
        fmpz_init(c);
        fmpz_set_mpz(c, t->c[lo]);
        fmpz_poly_set_fmpz(N, c);
        fmpz_poly_zero(D);
        fmpz_poly_set_coeff_ui(D, 0, 1);
        if (n > 1) fmpz_poly_set_coeff_ui(D, 1, (ulong) lo);
        fmpz_clear(c);
    } else {
        slong mid = lo + (hi - lo) / 2;
        fmpz_poly_t N2, D2, u;
        fmpz_poly_init(N2); fmpz_poly_init(D2); fmpz_poly_init(u);
        moment_tree(N, D, t, lo, mid, n);
        moment_tree(N2, D2, t, mid, hi, n);
        moment_mullow(u, N, D2, n);
        moment_mullow(N, N2, D, n);
        fmpz_poly_add(N, N, u);
        moment_mullow(u, D, D2, n);
        fmpz_poly_swap(D, u);
        fmpz_poly_clear(N2); fmpz_poly_clear(D2); fmpz_poly_clear(u);
    }
}

static void moments_make(moments *e, const table *t, slong n)
{
    fmpz_poly_t N, D, inv;
    slong j;
    fmpz_poly_init(N); fmpz_poly_init(D); fmpz_poly_init(inv);
    moment_tree(N, D, t, 1, t->a, n);
    fmpz_poly_inv_series(inv, D, n);
    moment_mullow(D, N, inv, n);
    for (j = 0; j < e->n; j++) mpz_clear(e->m[j]);
    flint_free(e->m);
    mom_bits -= e->bits;
    e->m = (mpz_t *) flint_malloc(sizeof(mpz_t) * n);
    e->n = n;
    e->bits = (double) mpz_sizeinbase(e->total, 2);
    for (j = 0; j < n; j++) {
        fmpz_t c;
        mpz_init(e->m[j]);
        fmpz_init(c);
        fmpz_poly_get_coeff_fmpz(c, D, j);
        fmpz_get_mpz(e->m[j], c);
        fmpz_clear(c);
        e->bits += (double) mpz_sizeinbase(e->m[j], 2);
    }
    mom_bits += e->bits;
    moments_made++;
    fmpz_poly_clear(N); fmpz_poly_clear(D); fmpz_poly_clear(inv);
    mom_evict();
}

/* S(p/q) by the expansion, into s: 1 = done, 0 = not here (the direct sum takes it). */
static int large_sum(arb_t s, slong a, slong F, const mpz_t p, const mpz_t q)
{
    slong lz, la, e_bits, J, j, num, *shift;
    int too_big;
    table *t;
    moments *e;
    mpz_t h, tmp;
    if (a < 3 || mpz_sgn(p) <= 0 || (slong) mpz_sizeinbase(p, 2) - (slong) mpz_sizeinbase(q, 2) < bit_length_si(a - 1) + 2)
        return 0;
    if (estimated_bits(a, F) > cache_budget_bits) return 0;  /* streamed tables: never stored, no moments */
    lz = log2_lower(p) - log2_lower(q) - 2;
    la = log2_lower_ui((ulong) (a - 1)) + 2;
    if (lz <= la) return 0;
    t = get_table(a, F, &too_big);
    if (t == NULL) { if (PyErr_Occurred()) PyErr_Clear(); return 0; }
    e = mom_entry(t);
    e_bits = bit_length_si(a) - 1;
    num = (slong) mpz_sizeinbase(e->total, 2) * ((slong) 1 << LOG_FRAC) - lz - e_bits * ((slong) 1 << LOG_FRAC);
    J = (num <= 0 ? 1 : (num + (lz - la) - 1) / (lz - la)) - 1;
    if ((J + 1) * large_z_ratio > a - 1 || (double) (a - 1) * (double) (J + 1) > LARGE_Z_MAX_WORK) return 0;
    if (e->n <= J) {
        e->seen++;
        if ((double) e->seen < (double) large_z_wait * (double) (J + 1)) return 0;
        {
            slong want = e->n == 0 ? J + 1 : (2 * e->n > J + 1 ? 2 * e->n : J + 1);
            moments_make(e, t, want < a ? want : a);
        }
    }
    large_z_calls++;
    shift = (slong *) flint_malloc(sizeof(slong) * (J + 1));
    for (j = 0; j <= J; j++) shift[j] = (j * lz) >> LOG_FRAC;
    mpz_init(h); mpz_init(tmp);
    mpz_fdiv_q_2exp(h, e->m[J], (mp_bitcnt_t) shift[J]);
    for (j = J - 1; j >= 0; j--) {
        mpz_mul(h, h, q);
        mpz_mul_2exp(h, h, (mp_bitcnt_t) (shift[j + 1] - shift[j]));
        mpz_fdiv_q(h, h, p);
        mpz_fdiv_q_2exp(tmp, e->m[j], (mp_bitcnt_t) shift[j]);
        mpz_add(h, h, tmp);
    }
    mpz_mul(h, h, q);
    mpz_fdiv_q(h, h, p);
    mpz_add(h, h, t->c[0]);
    {
        fmpz_t ft;
        mag_t m;
        fmpz_init(ft); mag_init(m);
        fmpz_set_mpz(ft, h);
        arb_set_fmpz(s, ft);
        arb_mul_2exp_si(s, s, -F);
        fmpz_set_ui(ft, (ulong) (2 * J + 3 + a));
        fmpz_add_ui(ft, ft, (ulong) 1 << e_bits);
        mag_set_fmpz(m, ft);
        mag_mul_2exp_si(m, m, -F);
        mag_add(arb_radref(s), arb_radref(s), m);
        fmpz_clear(ft); mag_clear(m);
    }
    mpz_clear(h); mpz_clear(tmp);
    flint_free(shift);
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
    if (!large_sum(s, a, F, p, q) && !real_sum(s, a, F, p, q)) {
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

static arf_struct half_arf[1];  /* 1/2, set once in PyInit__core */

/* How |V| is rounded (rounding.magnitude_mode): to nearest (ties to even), down, up. */
enum { HOW_NEAREST = 0, HOW_FLOOR = 1, HOW_CEIL = 2 };

/* rounding.MODES order: nearest, down, up, zero, away */
static int magnitude_mode(int mode, int sign)
{
    if (mode == 0) return HOW_NEAREST;
    if (mode == 3 || (mode == 1 && sign > 0) || (mode == 2 && sign < 0)) return HOW_FLOOR;
    return HOW_CEIL;
}

/* rounding._round_scaled for low = R^(digits-1): m = |V| R^(digits-1-E); sets n, *bump.
 * Decided from the exact ends of the ball (no rounding of m + 1/2, so it decides
 * whenever Python's m + arb(0.5) does): nearest: no integer in [lo + 1/2, hi + 1/2]
 * (a half-ulp point of m is an integer there, so a tie is never decided); floor/ceil:
 * no integer (grid point) in [lo, hi].  Then n = floor(lo (+ 1/2)), +1 for ceil. */
static int round_scaled(fmpz_t n, int *bump, const arb_t m, int how, const fmpz_t unit, const fmpz_t top)
{
    arf_t lo, hi;
    fmpz_t nh;
    int ok = 0;
    *bump = 0;
    if (!arb_is_finite(m)) return 0;
    arf_init(lo); arf_init(hi); fmpz_init(nh);
    arb_get_lbound_arf(lo, m, ARF_PREC_EXACT);
    arb_get_ubound_arf(hi, m, ARF_PREC_EXACT);
    if (how == HOW_NEAREST) {
        arf_add(lo, lo, half_arf, ARF_PREC_EXACT, ARF_RND_DOWN);
        arf_add(hi, hi, half_arf, ARF_PREC_EXACT, ARF_RND_DOWN);
    }
    arf_get_fmpz(n, lo, ARF_RND_FLOOR);
    arf_get_fmpz(nh, hi, ARF_RND_FLOOR);
    if (fmpz_equal(n, nh) && !arf_is_int(lo)) {
        if (how == HOW_CEIL) fmpz_add_ui(n, n, 1);
        if (fmpz_equal(n, top)) { fmpz_set(n, unit); *bump = 1; ok = 1; }
        else if (fmpz_cmp(n, unit) >= 0 && fmpz_cmp(n, top) < 0) ok = 1;
    }
    arf_clear(lo); arf_clear(hi); fmpz_clear(nh);
    return ok;
}

/* rounding._round_across_power (nearest only): decide R^E for a ball around it. */
static int round_across_power(fmpz_t n, const arb_t m, const fmpz_t unit, ulong radix, slong prec)
{
    arb_t tm, b;
    fmpz_t v;
    int ok = 0;
    arb_init(tm); arb_init(b); fmpz_init(v);
    arb_mul_ui(tm, m, 2 * radix, prec);
    fmpz_mul_ui(v, unit, 2 * radix);
    fmpz_sub_ui(v, v, 1);
    arb_set_fmpz(b, v);
    if (arb_gt(tm, b)) {
        fmpz_add_ui(v, v, 1 + radix);
        arb_set_fmpz(b, v);
        if (arb_lt(tm, b)) { fmpz_set(n, unit); ok = 1; }
    }
    arb_clear(tm); arb_clear(b); fmpz_clear(v);
    return ok;
}

/* rounding._decide without min_exponent: from ln|V| (and |V| when given) to (n, e).
 * radix is 10 or 2. 1 = decided. */
static int decide(fmpz_t n, fmpz_t e, const arb_t log_abs, const arb_t magnitude, slong digits, int how,
                  ulong radix, slong prec)
{
    arb_t ln_r, t;
    fmpz_t lo, hi, unit, top, sh;
    int ok = 0, bump;
    arb_init(ln_r); arb_init(t);
    fmpz_init(lo); fmpz_init(hi); fmpz_init(unit); fmpz_init(top); fmpz_init(sh);
    if (radix == 10) arb_const_log10(ln_r, prec); else arb_const_log2(ln_r, prec);
    arb_div(t, log_abs, ln_r, prec);
    if (decade_range(lo, hi, t)) {
        fmpz_sub(sh, hi, lo);
        if (fmpz_cmp_ui(sh, 1) <= 0) {
            fmpz_set(e, hi);
            fmpz_sub_si(sh, hi, digits - 1);          /* shift = exp - digits + 1 */
            if (magnitude != NULL) {
                if (fmpz_fits_si(sh) && fmpz_get_si(sh) > -(WORD(1) << 40) && fmpz_get_si(sh) < WORD(1) << 40) {
                    slong shift = fmpz_get_si(sh);
                    arb_ui_pow_ui(t, radix, (ulong) (shift <= 0 ? -shift : shift), prec);
                    if (shift <= 0) arb_mul(t, magnitude, t, prec);
                    else arb_div(t, magnitude, t, prec);
                } else {
                    arb_indeterminate(t);
                }
            } else {
                arb_mul_fmpz(t, ln_r, sh, prec);
                arb_sub(t, log_abs, t, prec);
                arb_exp(t, t, prec);
            }
            {   /* R^(digits-1) and R^digits: kept for the last (radix, digits) */
                static fmpz_t unit_c, top_c;
                static slong digits_c = 0;
                static ulong radix_c = 0;
                if (digits_c == 0) { fmpz_init(unit_c); fmpz_init(top_c); digits_c = -1; }
                if (digits_c != digits || radix_c != radix) {
                    fmpz_ui_pow_ui(unit_c, radix, (ulong) (digits - 1));
                    fmpz_mul_ui(top_c, unit_c, radix);
                    digits_c = digits; radix_c = radix;
                }
                fmpz_set(unit, unit_c); fmpz_set(top, top_c);
            }
            if (!fmpz_equal(lo, hi)) {
                ok = how == HOW_NEAREST && round_across_power(n, t, unit, radix, prec);
            } else {
                ok = round_scaled(n, &bump, t, how, unit, top);
                if (ok && bump) fmpz_add_ui(e, e, 1);
            }
        }
    }
    arb_clear(ln_r); arb_clear(t);
    fmpz_clear(lo); fmpz_clear(hi); fmpz_clear(unit); fmpz_clear(top); fmpz_clear(sh);
    return ok;
}

/* rounding.round_from_log: |V| = exp(log_abs), V of sign `sign`, rounded in `mode`. */
static int round_from_log(fmpz_t n, fmpz_t e, const arb_t log_abs, slong digits, int mode, int sign, ulong radix,
                          slong prec)
{
    return decide(n, e, log_abs, NULL, digits, magnitude_mode(mode, sign), radix, prec);
}

/* rounding.round_ball: a real ball rounded in `mode`. 1 = decided (sign, n, e). */
static int round_ball(int *sign, fmpz_t n, fmpz_t e, const arb_t value, slong digits, int mode, ulong radix,
                      slong prec)
{
    arb_t mag, lg;
    int ok;
    if (arb_contains_zero(value)) return 0;
    *sign = arb_is_positive(value) ? 1 : -1;
    arb_init(mag); arb_init(lg);
    arb_abs(mag, value);
    arb_log(lg, mag, prec);
    ok = decide(n, e, lg, mag, digits, magnitude_mode(mode, *sign), radix, prec);
    arb_clear(mag); arb_clear(lg);
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
    if (!ok && !PyErr_Occurred()) PyErr_SetString(PyExc_ArithmeticError, "spouge._core: internal: coefficient ball too wide");
    return ok;
}

/* Parse (p, q, bits, extra, digits[, mode[, radix]]); checks q > 0, x = p/q not a pole,
 * mode in 0..4 (rounding.MODES order) and radix 10 or 2. */
static int parse_pass_args(PyObject *args, mpz_t p, mpz_t q, slong *bits, slong *extra, slong *digits, int *mode,
                           ulong *radix)
{
    PyObject *po, *qo;
    long long b, e, d;
    int md = 0, rd = 10;
    if (!PyArg_ParseTuple(args, "OOLLL|ii", &po, &qo, &b, &e, &d, &md, &rd)) return 0;
    if (!check_sizes((slong) b, (slong) e, (slong) d)) return 0;
    if (md < 0 || md > 4 || (rd != 10 && rd != 2)) {
        PyErr_SetString(PyExc_ValueError, "spouge._core: mode must be 0..4 and radix 10 or 2");
        return 0;
    }
    *mode = md; *radix = (ulong) rd;
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
"gamma_pass(p, q, bits, extra, digits, mode=0, radix=10) -> (sign, N, E, a) or None\n\n"
"One pass for Γ(p/q) (q > 0, not a pole): ln|Γ| as an Arb ball at bits+extra+16,\n"
"then round_from_log (mode: index in rounding.MODES; radix 10 or 2; no min_exponent).\n"
"None when the ball does not decide the rounding.");

static PyObject *py_gamma_pass(PyObject *self, PyObject *args)
{
    mpz_t p, q;
    slong bits, extra, digits, a = 0;
    int sign, ok, mode;
    ulong radix;
    arb_t v;
    fmpz_t n, e;
    PyObject *res = NULL;
    mpz_init(p); mpz_init(q);
    if (!parse_pass_args(args, p, q, &bits, &extra, &digits, &mode, &radix)) { mpz_clear(p); mpz_clear(q); return NULL; }
    arb_init(v); fmpz_init(n); fmpz_init(e);
    if (ln_abs_gamma(v, &sign, &a, p, q, bits, extra)) {
        ok = round_from_log(n, e, v, digits, mode, sign, radix, bits + extra + 16);
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
    if (res == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_MemoryError, "spouge._core: a pass could not complete (out of memory)");
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
    if (sig_len <= 19 && exp10 <= 0 && exp10 >= -19) {
        /* short: p and q = 10^-exp10 fit a limb; reduce by a binary gcd (same p/q as below) */
        ulong pv = 0, qv = 1, g, u, v;
        Py_ssize_t i2;
        int sh;
        for (i2 = k; i2 < blen; i2++) pv = pv * 10 + (ulong) (buf[i2] - '0');
        for (i2 = 0; i2 < -exp10; i2++) qv *= 10;
        u = pv; v = qv;
        sh = __builtin_ctzll(u | v);
        u >>= __builtin_ctzll(u);
        while (v) {
            v >>= __builtin_ctzll(v);
            if (u > v) { ulong w = u; u = v; v = w; }
            v -= u;
        }
        g = u << sh;
        mpz_set_ui(p, pv / g);
        mpz_set_ui(q, qv / g);
        if (neg) mpz_neg(p, p);
        return 1;
    }
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

static PyObject *py_gamma_first(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *x, *res = NULL;
    long long digits_ll;
    long kind_l;
    int kind, sign, ok = 0, handled = 0;
    mpz_t p, q;
    slong bits, extra, digits, a = 0;
    if (nargs != 3) { PyErr_SetString(PyExc_TypeError, "gamma_first(x, digits, kind) takes 3 arguments"); return NULL; }
    x = args[0]; res = args[1];
    kind_l = PyLong_AsLong(args[2]);
    if (kind_l == -1 && PyErr_Occurred()) return NULL;
    kind = (kind_l < -1 || kind_l > 2) ? -1 : (int) kind_l;
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
    if (handled && mpz_cmp_ui(q, 1) == 0) {
        /* Γ(m+1) = m!: where functions._may_be_boundary says m! may sit on a rounding
         * boundary, Python settles it exactly (and marks the result exact): leave it there.
         * Same test with one digit of margin against float differences. */
        if (!mpz_fits_slong_p(p)) handled = 0;
        else {
            slong m = mpz_get_si(p) - 1;
            if (m <= 1) handled = 0;
            else if (m <= 10000000) {
                slong trailing = 0, power = 5;
                while (power <= m) { trailing += m / power; power *= 5; }
                if ((double) m * (log((double) m / 2.718281828459045) / log(10.0)) - (double) trailing <= (double) digits + 3.0)
                    handled = 0;
            }
        }
    }
    if (handled) {
        bits = (slong) ceil((double) digits * 3.321928094887362) + 16;  /* precision.target_bits */
        extra = magnitude_bits(p, q);
        if ((slong) mpz_sizeinbase(q, 2) <= bits + 88) {
            arb_t v;
            fmpz_t n, e;
            arb_init(v); fmpz_init(n); fmpz_init(e);
            if (ln_abs_gamma(v, &sign, &a, p, q, bits, extra)) {
                ok = round_from_log(n, e, v, digits, 0, sign, 10, bits + extra + 16);
                if (ok) {
                    PyObject *pn, *pe;
                    if (sign < 0) fmpz_neg(n, n);
                    pn = fmpz_to_py(n); pe = fmpz_to_py(e);
                    if (pn && pe && (res = PyTuple_New(4)) != NULL) {
                        PyObject *pa = PyLong_FromSsize_t((Py_ssize_t) a), *pb = PyLong_FromSsize_t((Py_ssize_t) (bits + extra));
                        PyTuple_SET_ITEM(res, 0, pn); PyTuple_SET_ITEM(res, 1, pe);
                        PyTuple_SET_ITEM(res, 2, pa); PyTuple_SET_ITEM(res, 3, pb);
                        if (pa == NULL || pb == NULL) { Py_DECREF(res); res = NULL; }
                    }
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
    if (res == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_MemoryError, "spouge._core: a pass could not complete (out of memory)");
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
"lgamma_pass(p, q, bits, extra, digits, mode=0, radix=10) -> (sign, N, E, a) | int | None\n\n"
"One pass for ln|Γ(p/q)|, rounded by round_ball.  Undecided: the ball's relative\n"
"accuracy in bits (an int) when it excludes 0, else None.");

static PyObject *py_lgamma_pass(PyObject *self, PyObject *args)
{
    mpz_t p, q;
    slong bits, extra, digits, a = 0;
    int sign, vsign = 1, ok, mode;
    ulong radix;
    arb_t v;
    fmpz_t n, e;
    PyObject *res = NULL;
    mpz_init(p); mpz_init(q);
    if (!parse_pass_args(args, p, q, &bits, &extra, &digits, &mode, &radix)) { mpz_clear(p); mpz_clear(q); return NULL; }
    arb_init(v); fmpz_init(n); fmpz_init(e);
    if (ln_abs_gamma(v, &sign, &a, p, q, bits, extra)) {
        ok = round_ball(&vsign, n, e, v, digits, mode, radix, bits + extra + 16);
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
    if (res == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_MemoryError, "spouge._core: a pass could not complete (out of memory)");
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
        } else if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ArithmeticError, "spouge._core: internal: coefficient ball too wide");
        }
    }
    arb_clear(v);
    mpz_clear(p); mpz_clear(q);
    if (res == NULL && !PyErr_Occurred())
        PyErr_SetString(PyExc_MemoryError, "spouge._core: a pass could not complete (out of memory)");
    return res;
}

PyDoc_STRVAR(coefficients_doc, "coefficients(a, F) -> list of C_0..C_{a-1} (as coefficients.iter_coefficients), made on threads");

static PyObject *py_coefficients(PyObject *self, PyObject *args)
{
    long long a, F;
    mpz_t *c;
    PyObject *list = NULL;
    slong k;
    if (!PyArg_ParseTuple(args, "LL", &a, &F)) return NULL;
    if (a < MIN_A || a > 200000 || F < 1 || F > MAX_BITS) {
        PyErr_SetString(PyExc_ValueError, "spouge._core: a or F out of range");
        return NULL;
    }
    c = (mpz_t *) flint_malloc(sizeof(mpz_t) * a);
    for (k = 0; k < a; k++) mpz_init(c[k]);
    if (make_table(c, (slong) a, (slong) F)) {
        list = PyList_New(a);
        for (k = 0; list != NULL && k < a; k++) {
            PyObject *item = mpz_to_py(c[k]);
            if (item == NULL) { Py_CLEAR(list); break; }
            PyList_SET_ITEM(list, k, item);
        }
    }
    for (k = 0; k < a; k++) mpz_clear(c[k]);
    flint_free(c);
    return list;
}

static PyObject *py_set_progress(PyObject *self, PyObject *fn)
{
    if (fn != Py_None && !PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "spouge._core: set_progress takes a callable or None");
        return NULL;
    }
    Py_XDECREF(progress_current);
    progress_current = NULL;
    if (fn != Py_None) { Py_INCREF(fn); progress_current = fn; }
    Py_RETURN_NONE;
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
    return Py_BuildValue("{s:l,s:l,s:l,s:l,s:l,s:d,s:d}", "hits", cache_hits, "misses", cache_misses,
                         "streamed", cache_streams, "provided", provider_tables, "tables", n, "bits", lru_bits,
                         "budget_bits", cache_budget_bits);
}

static PyObject *py_set_cache_budget(PyObject *self, PyObject *arg)
{
    double bits = PyFloat_AsDouble(arg);
    if (bits == -1.0 && PyErr_Occurred()) return NULL;
    if (!(bits >= 0)) { PyErr_SetString(PyExc_ValueError, "spouge._core: budget must be >= 0"); return NULL; }
    cache_budget_bits = bits;
    Py_RETURN_NONE;
}

static PyObject *py_has_table(PyObject *self, PyObject *args)
{
    long long a, F;
    table *t;
    if (!PyArg_ParseTuple(args, "LL", &a, &F)) return NULL;
    for (t = lru_head; t; t = t->next)
        if (t->a == a && t->F == F) Py_RETURN_TRUE;
    Py_RETURN_FALSE;
}

static PyObject *py_set_table_provider(PyObject *self, PyObject *fn)
{
    if (fn != Py_None && !PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "spouge._core: the table provider must be callable or None");
        return NULL;
    }
    Py_XDECREF(table_provider);
    table_provider = NULL;
    if (fn != Py_None) { Py_INCREF(fn); table_provider = fn; }
    Py_RETURN_NONE;
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

static PyObject *py_set_large_z(PyObject *self, PyObject *args)
{
    long wait, ratio;
    if (!PyArg_ParseTuple(args, "ll", &wait, &ratio)) return NULL;
    if (wait < 0 || ratio < 1) { PyErr_SetString(PyExc_ValueError, "spouge._core: wait >= 0 and ratio >= 1"); return NULL; }
    large_z_wait = wait; large_z_ratio = ratio;
    Py_RETURN_NONE;
}

static PyObject *py_moments_info(PyObject *self, PyObject *noargs)
{
    long n = 0;
    moments *e;
    for (e = mom_head; e; e = e->next) n++;
    return Py_BuildValue("{s:l,s:d,s:d,s:l,s:l,s:l,s:l}", "entries", n, "bits", mom_bits, "budget_bits",
                         cache_budget_bits / 4, "made", moments_made, "calls", large_z_calls,
                         "wait", large_z_wait, "ratio", large_z_ratio);
}

static PyObject *py_moments_clear(PyObject *self, PyObject *noargs)
{
    while (mom_head) {
        moments *e = mom_head;
        mom_unlink(e);
        moments_free(e);
    }
    mom_bits = 0.0;
    Py_RETURN_NONE;
}

static PyMethodDef core_methods[] = {
    {"set_large_z", py_set_large_z, METH_VARARGS,
     "set_large_z(wait, ratio): the 1/z expansion's policy (moments made after wait*(J+1) eligible calls; J+1 <= (a-1)/ratio)."},
    {"moments_info", py_moments_info, METH_NOARGS, "The large-z moment cache: entries, bits, budget, made, calls, wait, ratio."},
    {"moments_clear", py_moments_clear, METH_NOARGS, "Drop every cached moment table (and the call counts)."},
    {"gamma_pass", py_gamma_pass, METH_VARARGS, gamma_pass_doc},
    {"lgamma_pass", py_lgamma_pass, METH_VARARGS, lgamma_pass_doc},
    {"log_factorial", py_log_factorial, METH_VARARGS, log_factorial_doc},
    {"coefficients", py_coefficients, METH_VARARGS, coefficients_doc},
    {"gamma_first", (PyCFunction) (void (*)(void)) py_gamma_first, METH_FASTCALL, gamma_first_doc},
    {"configure", py_configure, METH_VARARGS, "configure(MAX_DIGITS, MAX_DECIMAL_EXPONENT): the limits gamma_first leaves to Python."},
    {"choose_a", py_choose_a, METH_VARARGS, choose_a_doc},
    {"cache_info", py_cache_info, METH_NOARGS, "Coefficient-table cache counters."},
    {"set_progress", py_set_progress, METH_O,
     "set_progress(current or None): before making many coefficients, current() -> reporter(phase, done, total) or None."},
    {"cache_clear", py_cache_clear, METH_NOARGS, "Drop every cached coefficient table."},
    {"set_cache_budget", py_set_cache_budget, METH_O,
     "set_cache_budget(bits): the table cache's bound (tables estimated larger are streamed, never stored)."},
    {"has_table", py_has_table, METH_VARARGS, "has_table(a, F) -> whether the C cache holds that table (no LRU touch)."},
    {"set_table_provider", py_set_table_provider, METH_O,
     "set_table_provider(fn or None): fn(a, F) -> C_0..C_{a-1} or None serves table misses (disk cache)."},
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
    arf_init(half_arf);
    arf_set_si_2exp_si(half_arf, 1, -1);
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
