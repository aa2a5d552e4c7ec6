/* The steps of the scaled linear-domain recursion (see _scaled.h), shared by
 * the one-sequence kernels (_scaled.h), the two-thread path (_split.h) and the
 * lockstep path (_lockstep.h).
 *
 * A step is alpha_t = (alpha_{t-1} A) * b_t, where b_t = exp(log_frameprob_t -
 * max_j log_frameprob_t[j]) is computed for a block of frames at a time
 * (vectorised, off the recurrence) and the frame maxima are summed separately
 * (Neumaier). The vector is rescaled by an exact power of two only when its
 * sum drops below 2^-256, so rescaling adds no rounding at all.
 *
 * Models of up to 16 states are padded with zeros to a width w of 4, 8 or 16,
 * and the step is instantiated for each width: it then has compile-time trip
 * counts and keeps its accumulators in registers.
 */
#ifndef HMM_CORE_SCALED_STEPS_H
#define HMM_CORE_SCALED_STEPS_H

#include "_simd.h"

#define HMM_SCALED_MIN_TRANSITION 1e-100
#define HMM_BLOCK 64                            /* frames per exp block */
#define HMM_RESCALE_BELOW 8.636168555094445e-78 /* 2^-256 */
#define HMM_MAX_PADDED 16

typedef void (*hmm_dgemm_t)(char *transa, char *transb, int *m, int *n, int *k,
                            double *alpha, double *a, int *lda, double *b, int *ldb,
                            double *beta, double *c, int *ldc);

/* Row stride of every per-state vector, frame row and (padded) matrix. */
static inline ptrdiff_t hmm_stride(ptrdiff_t n)
{
    return n <= 4 ? 4 : n <= 8 ? 8 : n <= HMM_MAX_PADDED ? HMM_MAX_PADDED : n;
}

/* doubles of scratch each sequence kernel needs */
static inline ptrdiff_t hmm_scaled_work_size(ptrdiff_t n)
{
    const ptrdiff_t w = hmm_stride(n);
    return 3 * HMM_BLOCK * w + HMM_BLOCK + 5 * w;
}

/* max of x[0:n] (no NaN), four lanes at a time: GCC does not vectorise a
 * scalar max reduction without -ffast-math, and a serial chain of maxsd costs
 * 4 cycles per value. */
HMM_INLINE double hmm_max(const double *x, ptrdiff_t n)
{
    double m = -INFINITY;
    ptrdiff_t i = 0;
#if HMM_VECTOR_EXT
    if (n >= 4) {
        hmm_v4 mv = hmm_load4(x);
        for (i = 4; i + 4 <= n; i += 4) {
            const hmm_v4 v = hmm_load4(x + i);
            const hmm_i4 gt = v > mv;
            mv = (hmm_v4)(((hmm_i4)v & gt) | ((hmm_i4)mv & ~gt));
        }
        const double m01 = mv[0] > mv[1] ? mv[0] : mv[1];
        const double m23 = mv[2] > mv[3] ? mv[2] : mv[3];
        m = m01 > m23 ? m01 : m23;
    }
#endif
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* dst[0:n] = src[0:n] for short rows; memcpy would be a call (or rep movs)
 * costing more than the copy. */
HMM_INLINE void
hmm_copy(double *restrict dst, const double *restrict src, ptrdiff_t n)
{
#if HMM_VECTOR_EXT
    ptrdiff_t j = 0;
    for (; j + 4 <= n; j += 4)
        *(hmm_v4 *)(dst + j) = hmm_load4(src + j);
    switch (n - j) {
    case 3: dst[j + 2] = src[j + 2]; /* fall through */
    case 2: dst[j + 1] = src[j + 1]; /* fall through */
    case 1: dst[j] = src[j];         /* fall through */
    default: break;
    }
#else
    for (ptrdiff_t j = 0; j < n; j++)
        dst[j] = src[j];
#endif
}

/* out[0:w] = x[0:n] @ a, a having at least n rows of w (zero beyond column n). */
HMM_INLINE void
hmm_matvec(const double *restrict x, const double *restrict a, double *restrict out,
           ptrdiff_t n, const ptrdiff_t w)
{
    if (w > HMM_MAX_PADDED) {   /* w == n */
        hmm_vecmat_impl(x, a, out, n);
        return;
    }
#if HMM_VECTOR_EXT
    /* w / 4 vector accumulators, twice over to halve each output's FMA chain */
    hmm_v4 acc0[HMM_MAX_PADDED / 4], acc1[HMM_MAX_PADDED / 4];
    const ptrdiff_t nv = w / 4;
    ptrdiff_t i = 0, v;
    for (v = 0; v < nv; v++) {
        acc0[v] = (hmm_v4){0.0, 0.0, 0.0, 0.0};
        acc1[v] = acc0[v];
    }
    for (; i + 2 <= n; i += 2) {
        const double x0 = x[i], x1 = x[i + 1];
        for (v = 0; v < nv; v++) {
            acc0[v] += x0 * hmm_load4(a + i * w + 4 * v);
            acc1[v] += x1 * hmm_load4(a + (i + 1) * w + 4 * v);
        }
    }
    if (i < n)
        for (v = 0; v < nv; v++)
            acc0[v] += x[i] * hmm_load4(a + i * w + 4 * v);
    for (v = 0; v < nv; v++)
        *(hmm_v4 *)(out + 4 * v) = acc0[v] + acc1[v];
#else
    for (ptrdiff_t j = 0; j < w; j++) {   /* the lanes above, one at a time */
        double acc0 = 0.0, acc1 = 0.0;
        ptrdiff_t i = 0;
        for (; i + 2 <= n; i += 2) {
            acc0 += x[i] * a[i * w + j];
            acc1 += x[i + 1] * a[(i + 1) * w + j];
        }
        if (i < n)
            acc0 += x[i] * a[i * w + j];
        out[j] = acc0 + acc1;
    }
#endif
}

/* x[0:w] *= y[0:w]; returns the sum of the products (w a multiple of 4 when
 * at most HMM_MAX_PADDED). */
HMM_INLINE double
hmm_mul_sum(double *restrict x, const double *restrict y, const ptrdiff_t w)
{
#if HMM_VECTOR_EXT
    if (w <= HMM_MAX_PADDED) {
        hmm_v4 sum = {0.0, 0.0, 0.0, 0.0};
        for (ptrdiff_t v = 0; v < w / 4; v++) {
            const hmm_v4 p = hmm_load4(x + 4 * v) * hmm_load4(y + 4 * v);
            *(hmm_v4 *)(x + 4 * v) = p;
            sum += p;
        }
        return (sum[0] + sum[1]) + (sum[2] + sum[3]);
    }
#endif
    double s = 0.0;
    for (ptrdiff_t j = 0; j < w; j++) {
        x[j] *= y[j];
        s += x[j];
    }
    return s;
}

/* sum_j x[j] * y[j] over w entries */
HMM_INLINE double
hmm_dot(const double *restrict x, const double *restrict y, const ptrdiff_t w)
{
#if HMM_VECTOR_EXT
    if (w <= HMM_MAX_PADDED) {
        hmm_v4 sum = {0.0, 0.0, 0.0, 0.0};
        for (ptrdiff_t v = 0; v < w / 4; v++)
            sum += hmm_load4(x + 4 * v) * hmm_load4(y + 4 * v);
        return (sum[0] + sum[1]) + (sum[2] + sum[3]);
    }
#endif
    double s = 0.0;
    for (ptrdiff_t j = 0; j < w; j++)
        s += x[j] * y[j];
    return s;
}

/* Where a sequence's emission log-likelihoods come from: either (T, N) rows,
 * or rows of a (K, N) table picked by a (T,) index (categorical emissions:
 * one row per symbol), whose exponentials are then computed once per call. */
typedef struct {
    const double *log_frameprob;   /* (T, N), or the (K, N) table when index != NULL */
    const int64_t *index;          /* (T,) table rows, or NULL */
    const double *table_b;         /* (K, w) exp(table row - its max), or NULL */
    const double *table_shift;     /* (K,) the table row maxima, or NULL */
} hmm_frames;

HMM_INLINE const double *
hmm_log_row(const hmm_frames *f, ptrdiff_t t, ptrdiff_t n)
{
    return f->log_frameprob + (f->index != NULL ? f->index[t] : t) * n;
}

/* The frames of the sequence starting at frame `start` of the batch. */
static inline hmm_frames hmm_frames_from(const hmm_frames *base, ptrdiff_t start, ptrdiff_t n)
{
    hmm_frames f = *base;
    if (f.index != NULL)
        f.index += start;
    else
        f.log_frameprob += start * n;
    return f;
}

/* For frames t .. t + nb - 1: bptr[k] -> exp(log row - shift[k]) (w wide,
 * zero-padded) with shift[k] the row's max, computed into b unless the frames
 * come from a table. Returns 0 when a frame is impossible in every state. */
HMM_INLINE int
hmm_frame_block(const hmm_frames *f, ptrdiff_t t, ptrdiff_t nb, ptrdiff_t n,
                const ptrdiff_t w, double *restrict b, double *restrict shift,
                const double **bptr)
{
    if (f->index != NULL) {
        for (ptrdiff_t k = 0; k < nb; k++) {
            const int64_t row = f->index[t + k];
            shift[k] = f->table_shift[row];
            if (shift[k] == -INFINITY)
                return 0;
            bptr[k] = f->table_b + row * w;
        }
        return 1;
    }
    const double *restrict logb = f->log_frameprob + t * n;
    for (ptrdiff_t k = 0; k < nb; k++) {
        const double *restrict row = logb + k * n;
        double *restrict bk = b + k * w;
        const double m = hmm_max(row, n);
        if (m == -INFINITY)
            return 0;
        shift[k] = m;
        bptr[k] = bk;
#if HMM_VECTOR_EXT
        const hmm_v4 zero = {0.0, 0.0, 0.0, 0.0};
        ptrdiff_t j = 0;
        for (; j + 4 <= n; j += 4)
            *(hmm_v4 *)(bk + j) = hmm_exp4(hmm_load4(row + j) - m);
        if (j < n) {   /* lanes past n are exp(-inf) = 0, the padding */
            hmm_v4 v = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
            for (ptrdiff_t l = j; l < n; l++)
                v[l - j] = row[l] - m;
            v = hmm_exp4(v);
            for (ptrdiff_t l = j; l < j + 4 && l < w; l++)
                bk[l] = v[l - j];
            j += 4;
        }
        for (; j < w; j += 4)   /* only when w is a padded width, a multiple of 4 */
            *(hmm_v4 *)(bk + j) = zero;
#else
        for (ptrdiff_t j = 0; j < n; j++)
            bk[j] = hmm_exp1(row[j] - m);
        for (ptrdiff_t j = n; j < w; j++)
            bk[j] = 0.0;
#endif
    }
    return 1;
}

/* table_b (K x w, zero-padded) and table_shift of a (K, N) log table; an
 * impossible row gets a shift of -inf and zeros. */
static inline void hmm_table_exp(const double *table, ptrdiff_t n_rows, ptrdiff_t n,
                                 double *table_b, double *table_shift)
{
    const ptrdiff_t w = hmm_stride(n);
    for (ptrdiff_t r = 0; r < n_rows; r++) {
        const double m = hmm_max(table + r * n, n);
        table_shift[r] = m;
        for (ptrdiff_t j = 0; j < w; j++)
            table_b[r * w + j] = (m == -INFINITY || j >= n) ? 0.0
                                 : exp(table[r * n + j] - m);
    }
}

/* Scale x (whose sum is s > 0) by an exact power of two to a sum in [0.5, 1);
 * returns e such that old x = new x * 2^e. */
HMM_INLINE int hmm_rescale(double *x, double s, ptrdiff_t n)
{
    int e;
    frexp(s, &e);
    const double f = ldexp(1.0, -e);
    for (ptrdiff_t j = 0; j < n; j++)
        x[j] *= f;
    return e;
}

/* log sum_j exp(v[j] + log_end[j]), exactly; v is overwritten. When gamma is
 * not NULL it receives the normalised terms (the last frame's posteriors).
 * Once per sequence: out of line. */
HMM_NOINLINE HMM_UNUSED double hmm_close(double *restrict v, const double *restrict log_end,
                                         double *restrict gamma, ptrdiff_t n)
{
    double s = 0.0;
    for (ptrdiff_t j = 0; j < n; j++)
        v[j] += log_end[j];
    const double m = hmm_max(v, n);
    if (m == -INFINITY)
        return m;
    for (ptrdiff_t j = 0; j < n; j++) {
        v[j] = exp(v[j] - m);
        s += v[j];
    }
    if (gamma != NULL)
        for (ptrdiff_t j = 0; j < n; j++)
            gamma[j] = v[j] / s;
    return m + log(s);
}

/* hmm_close for the last frame, taken in log space: pred is the predicted
 * vector (positive; overwritten) and final the frame's log-likelihoods. */
HMM_NOINLINE HMM_UNUSED double
hmm_close_last(double *restrict pred, const double *restrict final,
               const double *restrict log_end, double *restrict gamma, ptrdiff_t n)
{
    for (ptrdiff_t j = 0; j < n; j++)
        pred[j] = log(pred[j]) + final[j];
    return hmm_close(pred, log_end, gamma, n);
}

/* The steps of one block of nb frames for w <= HMM_MAX_PADDED, with the
 * forward vector held in registers from step to step (no store and reload on
 * the recurrence); transmat is w x w here, zero past row and column n.
 * Step k stores the new vector's first row_stride entries to rows + k *
 * row_stride and, when pre_rows is not NULL, the product before the frame
 * factor (w wide) to pre_rows + k * w. Returns the power of two taken out by
 * rescaling. (The backward pass of _split.h is this step run with A^T.) */
HMM_INLINE long
hmm_forward_block_small(double *restrict cur, const double *restrict a,
                        const double **bptr, ptrdiff_t nb, double *restrict rows,
                        ptrdiff_t row_stride, double *restrict pre_rows, const ptrdiff_t w)
{
#if HMM_VECTOR_EXT
    const ptrdiff_t nv = w / 4;
    const hmm_v4 zero = {0.0, 0.0, 0.0, 0.0};
    hmm_v4 c[HMM_MAX_PADDED / 4];
    long exponent = 0;
    ptrdiff_t v, i, k;
    for (v = 0; v < nv; v++)
        c[v] = hmm_load4(cur + 4 * v);
    for (k = 0; k < nb; k++) {
        hmm_v4 acc0[HMM_MAX_PADDED / 4], acc1[HMM_MAX_PADDED / 4], sum = zero;
        for (v = 0; v < nv; v++) {
            acc0[v] = zero;
            acc1[v] = zero;
        }
        for (i = 0; i < w; i += 2) {
            const double x0 = c[i / 4][i % 4], x1 = c[(i + 1) / 4][(i + 1) % 4];
            for (v = 0; v < nv; v++) {
                acc0[v] += x0 * hmm_load4(a + i * w + 4 * v);
                acc1[v] += x1 * hmm_load4(a + (i + 1) * w + 4 * v);
            }
        }
        for (v = 0; v < nv; v++) {
            const hmm_v4 pre = acc0[v] + acc1[v];
            if (pre_rows != NULL)
                *(hmm_v4 *)(pre_rows + k * w + 4 * v) = pre;
            c[v] = pre * hmm_load4(bptr[k] + 4 * v);
            sum += c[v];
        }
        const double s = (sum[0] + sum[1]) + (sum[2] + sum[3]);
        if (s < HMM_RESCALE_BELOW) {
            int e;
            frexp(s, &e);
            const double f = ldexp(1.0, -e);
            for (v = 0; v < nv; v++)
                c[v] *= f;
            exponent += e;
        }
        if (rows != NULL) {
            double row[HMM_MAX_PADDED];
            for (v = 0; v < nv; v++)
                *(hmm_v4 *)(row + 4 * v) = c[v];
            hmm_copy(rows + k * row_stride, row, row_stride);
        }
    }
    for (v = 0; v < nv; v++)
        *(hmm_v4 *)(cur + 4 * v) = c[v];
    return exponent;
#else  /* the same steps through memory */
    double nxt[HMM_MAX_PADDED];
    long exponent = 0;
    for (ptrdiff_t k = 0; k < nb; k++) {
        hmm_matvec(cur, a, nxt, w, w);
        if (pre_rows != NULL)
            hmm_copy(pre_rows + k * w, nxt, w);
        double s = 0.0;
        for (ptrdiff_t j = 0; j < w; j++) {
            cur[j] = nxt[j] * bptr[k][j];
            s += cur[j];
        }
        if (s < HMM_RESCALE_BELOW)
            exponent += hmm_rescale(cur, s, w);
        if (rows != NULL)
            hmm_copy(rows + k * row_stride, cur, row_stride);
    }
    return exponent;
#endif
}

/* Neumaier sum: *total + *comp += the shifts of nb frames. */
HMM_INLINE void hmm_add_shifts(const double *shift, ptrdiff_t nb, double *total,
                               double *comp)
{
    double block_sum = 0.0;
    for (ptrdiff_t k = 0; k < nb; k++)
        block_sum += shift[k];
    const double sum = *total + block_sum;
    if (!isfinite(sum)) {
        /* The log-likelihood left the range of doubles (frames such as -DBL_MAX, a
         * common way to write log 0): it is -inf or +inf, and the compensation of
         * infinite terms would only turn it into NaN. */
        *comp = 0.0;
        *total = sum;
        return;
    }
    *comp += fabs(*total) >= fabs(block_sum) ? (*total - sum) + block_sum
                                             : (block_sum - sum) + *total;
    *total = sum;
}

/* The steps of frames bptr[0 .. nb-1] in order: cur = (cur M) * b, rescaled,
 * each new vector's first n entries stored to rows + k * n when rows is not
 * NULL; returns the power of two taken out. */
HMM_INLINE long
hmm_steps(double *restrict cur, double *restrict nxt, const double *restrict mat,
          const double **bptr, ptrdiff_t nb, double *restrict rows, ptrdiff_t n,
          const ptrdiff_t w)
{
    if (w <= HMM_MAX_PADDED)
        return hmm_forward_block_small(cur, mat, bptr, nb, rows, n, NULL, w);
    long exponent = 0;
    for (ptrdiff_t k = 0; k < nb; k++) {
        hmm_matvec(cur, mat, nxt, n, w);
        const double s = hmm_mul_sum(nxt, bptr[k], w);
        if (s < HMM_RESCALE_BELOW)
            exponent += hmm_rescale(nxt, s, w);
        if (rows != NULL)
            hmm_copy(rows + k * n, nxt, n);
        hmm_copy(cur, nxt, w);
    }
    return exponent;
}

/* cur = exp(x + y - m), zero-padded to w, for m = max(x + y), which is
 * returned (-inf: every entry impossible, cur left unscaled). The first and
 * last frames of a sequence, done in log space. */
HMM_INLINE double hmm_exp_start(double *restrict cur, const double *restrict x,
                                   const double *restrict y, ptrdiff_t n, const ptrdiff_t w)
{
    ptrdiff_t j;
    for (j = 0; j < n; j++)
        cur[j] = x[j] + y[j];
    const double m = hmm_max(cur, n);
    if (m == -INFINITY)
        return m;
    for (j = 0; j < n; j++)
        cur[j] = hmm_exp1(cur[j] - m);
    for (j = n; j < w; j++)
        cur[j] = 0.0;
    return m;
}

/* hmm_exp_start out of line, compiled for the baseline ISA in every build:
 * the lockstep forward pass opens its rows with it, as it always has, so its
 * likelihoods do not change with the compiler's inlining (FMA contraction
 * would move the last bit of the exponentials). */
HMM_NOINLINE HMM_UNUSED double
hmm_exp_start_baseline(double *restrict cur, const double *restrict x,
                       const double *restrict y, ptrdiff_t n, ptrdiff_t w)
{
    return hmm_exp_start(cur, x, y, n, w);
}

#endif
