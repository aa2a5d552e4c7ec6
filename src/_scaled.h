/* Forward-backward in the scaled linear domain, for dense transition matrices.
 *
 * Each step is a plain vector-matrix multiply-add with no exp or log on the
 * critical path: alpha_t = (alpha_{t-1} A) * b_t, where b_t = exp(log_frameprob_t
 * - max_j log_frameprob_t[j]) is computed for a block of frames at a time
 * (vectorised, off the recurrence) and the frame maxima are summed separately.
 * The vector is rescaled by an exact power of two only when its sum drops
 * below 2^-256, so rescaling adds no rounding at all.
 *
 * Why this is exact (not merely "scaled", like hmmlearn's scaling mode):
 * the only terms the linear domain can lose are those flushed to zero, each
 * below 3e-308 of the largest entry of its vector. When every transition is
 * at least a_min, every backward value of a state is within a factor 1/a_min
 * of every other state's (beta_t[i] >= a_min * sum_k b beta >= a_min *
 * beta_t[j]), so a flushed term changes the likelihood by less than
 * N * 3e-308 / a_min^2 of itself per step: below 1e-100 for a_min = 1e-100.
 * The kernels are therefore used only when min(A) >= HMM_SCALED_MIN_TRANSITION
 * (the caller checks); the first and last frames, where the start and end
 * probabilities have no such bound, are computed in log space. Anything else
 * (structural zeros, vanishing transitions) goes to the log-domain kernels.
 *
 * Each sequence kernel is compiled twice (target_clones, see _simd.h) with
 * every step inlined, so there is no call per time step. Models of up to 16
 * states are padded with zeros to a width w of 4, 8 or 16, and the kernels are
 * instantiated for each width: a step then has compile-time trip counts and
 * keeps its accumulators in registers.
 */
#ifndef HMM_CORE_SCALED_H
#define HMM_CORE_SCALED_H

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
static inline __attribute__((always_inline)) double hmm_max(const double *x, ptrdiff_t n)
{
    double m = -__builtin_inf();
    ptrdiff_t i = 0;
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
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* dst[0:n] = src[0:n] for short rows; memcpy would be a call (or rep movs)
 * costing more than the copy. */
static inline __attribute__((always_inline)) void
hmm_copy(double *restrict dst, const double *restrict src, ptrdiff_t n)
{
    ptrdiff_t j = 0;
    for (; j + 4 <= n; j += 4)
        *(hmm_v4 *)(dst + j) = hmm_load4(src + j);
    switch (n - j) {
    case 3: dst[j + 2] = src[j + 2]; /* fall through */
    case 2: dst[j + 1] = src[j + 1]; /* fall through */
    case 1: dst[j] = src[j];         /* fall through */
    default: break;
    }
}

/* out[0:w] = x[0:n] @ a, a having at least n rows of w (zero beyond column n). */
static inline __attribute__((always_inline)) void
hmm_matvec(const double *restrict x, const double *restrict a, double *restrict out,
           ptrdiff_t n, const ptrdiff_t w)
{
    if (w > HMM_MAX_PADDED) {   /* w == n */
        hmm_vecmat_inline(x, a, out, n);
        return;
    }
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
}

/* x[0:w] *= y[0:w]; returns the sum of the products (w a multiple of 4 when
 * at most HMM_MAX_PADDED). */
static inline __attribute__((always_inline)) double
hmm_mul_sum(double *restrict x, const double *restrict y, const ptrdiff_t w)
{
    if (w > HMM_MAX_PADDED) {
        double s = 0.0;
        for (ptrdiff_t j = 0; j < w; j++) {
            x[j] *= y[j];
            s += x[j];
        }
        return s;
    }
    hmm_v4 sum = {0.0, 0.0, 0.0, 0.0};
    for (ptrdiff_t v = 0; v < w / 4; v++) {
        const hmm_v4 p = hmm_load4(x + 4 * v) * hmm_load4(y + 4 * v);
        *(hmm_v4 *)(x + 4 * v) = p;
        sum += p;
    }
    return (sum[0] + sum[1]) + (sum[2] + sum[3]);
}

/* sum_j x[j] * y[j] over w entries */
static inline __attribute__((always_inline)) double
hmm_dot(const double *restrict x, const double *restrict y, const ptrdiff_t w)
{
    if (w > HMM_MAX_PADDED) {
        double s = 0.0;
        for (ptrdiff_t j = 0; j < w; j++)
            s += x[j] * y[j];
        return s;
    }
    hmm_v4 sum = {0.0, 0.0, 0.0, 0.0};
    for (ptrdiff_t v = 0; v < w / 4; v++)
        sum += hmm_load4(x + 4 * v) * hmm_load4(y + 4 * v);
    return (sum[0] + sum[1]) + (sum[2] + sum[3]);
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

static inline __attribute__((always_inline)) const double *
hmm_log_row(const hmm_frames *f, ptrdiff_t t, ptrdiff_t n)
{
    return f->log_frameprob + (f->index != NULL ? f->index[t] : t) * n;
}

/* For frames t .. t + nb - 1: bptr[k] -> exp(log row - shift[k]) (w wide,
 * zero-padded) with shift[k] the row's max, computed into b unless the frames
 * come from a table. Returns 0 when a frame is impossible in every state. */
static inline __attribute__((always_inline)) int
hmm_frame_block(const hmm_frames *f, ptrdiff_t t, ptrdiff_t nb, ptrdiff_t n,
                const ptrdiff_t w, double *restrict b, double *restrict shift,
                const double **bptr)
{
    if (f->index != NULL) {
        for (ptrdiff_t k = 0; k < nb; k++) {
            const int64_t row = f->index[t + k];
            shift[k] = f->table_shift[row];
            if (shift[k] == -__builtin_inf())
                return 0;
            bptr[k] = f->table_b + row * w;
        }
        return 1;
    }
    const double *restrict logb = f->log_frameprob + t * n;
    const hmm_v4 zero = {0.0, 0.0, 0.0, 0.0};
    for (ptrdiff_t k = 0; k < nb; k++) {
        const double *restrict row = logb + k * n;
        double *restrict bk = b + k * w;
        const double m = hmm_max(row, n);
        if (m == -__builtin_inf())
            return 0;
        shift[k] = m;
        bptr[k] = bk;
        ptrdiff_t j = 0;
        for (; j + 4 <= n; j += 4)
            *(hmm_v4 *)(bk + j) = hmm_exp4(hmm_load4(row + j) - m);
        if (j < n) {   /* lanes past n are exp(-inf) = 0, the padding */
            hmm_v4 v = {-__builtin_inf(), -__builtin_inf(), -__builtin_inf(), -__builtin_inf()};
            for (ptrdiff_t l = j; l < n; l++)
                v[l - j] = row[l] - m;
            v = hmm_exp4(v);
            for (ptrdiff_t l = j; l < j + 4 && l < w; l++)
                bk[l] = v[l - j];
            j += 4;
        }
        for (; j < w; j += 4)   /* only when w is a padded width, a multiple of 4 */
            *(hmm_v4 *)(bk + j) = zero;
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
            table_b[r * w + j] = (m == -__builtin_inf() || j >= n) ? 0.0
                                 : exp(table[r * n + j] - m);
    }
}

/* Scale x (whose sum is s > 0) by an exact power of two to a sum in [0.5, 1);
 * returns e such that old x = new x * 2^e. */
static inline int hmm_rescale(double *x, double s, ptrdiff_t n)
{
    int e;
    frexp(s, &e);
    const double f = ldexp(1.0, -e);
    for (ptrdiff_t j = 0; j < n; j++)
        x[j] *= f;
    return e;
}

/* log sum_j exp(v[j] + log_end[j]), exactly; v is overwritten. When gamma is
 * not NULL it receives the normalised terms (the last frame's posteriors). */
static inline double hmm_close(double *restrict v, const double *restrict log_end,
                               double *restrict gamma, ptrdiff_t n)
{
    double s = 0.0;
    for (ptrdiff_t j = 0; j < n; j++)
        v[j] += log_end[j];
    const double m = hmm_max(v, n);
    if (m == -__builtin_inf())
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
static inline double hmm_close_last(double *restrict pred, const double *restrict final,
                                    const double *restrict log_end, double *restrict gamma,
                                    ptrdiff_t n)
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
static inline __attribute__((always_inline)) long
hmm_forward_block_small(double *restrict cur, const double *restrict a,
                        const double **bptr, ptrdiff_t nb, double *restrict rows,
                        ptrdiff_t row_stride, double *restrict pre_rows, const ptrdiff_t w)
{
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
}

/* Neumaier sum: *total + *comp += the shifts of nb frames. */
static inline void hmm_add_shifts(const double *shift, ptrdiff_t nb, double *total,
                                  double *comp)
{
    double block_sum = 0.0;
    for (ptrdiff_t k = 0; k < nb; k++)
        block_sum += shift[k];
    const double sum = *total + block_sum;
    *comp += fabs(*total) >= fabs(block_sum) ? (*total - sum) + block_sum
                                             : (block_sum - sum) + *total;
    *total = sum;
}

/* The steps of frames bptr[0 .. nb-1] in order: cur = (cur M) * b, rescaled,
 * each new vector's first n entries stored to rows + k * n when rows is not
 * NULL; returns the power of two taken out. */
static inline __attribute__((always_inline)) long
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
static inline double hmm_exp_start(double *restrict cur, const double *restrict x,
                                   const double *restrict y, ptrdiff_t n, const ptrdiff_t w)
{
    ptrdiff_t j;
    for (j = 0; j < n; j++)
        cur[j] = x[j] + y[j];
    const double m = hmm_max(cur, n);
    if (m == -__builtin_inf())
        return m;
    for (j = 0; j < n; j++)
        cur[j] = hmm_exp1(cur[j] - m);
    for (j = n; j < w; j++)
        cur[j] = 0.0;
    return m;
}

/* The forward pass of one sequence, for a stride w fixed at compile time. */
static inline __attribute__((always_inline)) double
hmm_forward_impl(const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n, const ptrdiff_t w,
                 const double *restrict log_startprob, const double *restrict transmat,
                 const double *restrict log_endprob, double *restrict alpha,
                 double *restrict work)
{
    double *b = work;
    double *shift = work + HMM_BLOCK * w;
    double *cur = shift + HMM_BLOCK;
    double *nxt = cur + w;
    const double *bptr[HMM_BLOCK];
    double total, comp = 0.0;   /* Neumaier sum of the frame shifts */
    long exponent = 0;
    ptrdiff_t t, j, nb;

    /* Frame 0 in log space: the start probabilities have no lower bound. */
    const double *first = hmm_log_row(frames, 0, n);
    for (j = 0; j < n; j++)
        cur[j] = log_startprob[j] + first[j];
    if (n_frames == 1)
        return hmm_close(cur, log_endprob, alpha, n);
    total = hmm_max(cur, n);
    if (total == -__builtin_inf())
        return total;
    for (j = 0; j < n; j++)
        cur[j] = hmm_exp1(cur[j] - total);
    for (j = n; j < w; j++)
        cur[j] = 0.0;
    if (alpha != NULL)
        memcpy(alpha, cur, n * sizeof(double));

    for (t = 1; t < n_frames - 1; t += nb) {
        nb = n_frames - 1 - t < HMM_BLOCK ? n_frames - 1 - t : HMM_BLOCK;
        if (!hmm_frame_block(frames, t, nb, n, w, b, shift, bptr))
            return -__builtin_inf();
        hmm_add_shifts(shift, nb, &total, &comp);
        exponent += hmm_steps(cur, nxt, transmat, bptr, nb,
                              alpha != NULL ? alpha + t * n : NULL, n, w);
    }

    /* Last frame in log space, so the end probabilities need no bound either;
     * the predicted vector itself never underflows (every transition is large). */
    hmm_matvec(cur, transmat, nxt, n, w);
    const double last = hmm_close_last(nxt, hmm_log_row(frames, n_frames - 1, n), log_endprob,
                                       alpha != NULL ? alpha + (n_frames - 1) * n : NULL, n);
    if (last == -__builtin_inf())
        return last;
    return (total + comp) + ((double)exponent * 0.69314718055994530942 + last);
}

#define HMM_BY_STRIDE(n, call_w)                                 \
    switch (hmm_stride(n)) {                                     \
    case 4: return call_w(4);                                    \
    case 8: return call_w(8);                                    \
    case HMM_MAX_PADDED: return call_w(HMM_MAX_PADDED);          \
    default: return call_w(n);                                   \
    }

/* Log-likelihood of one sequence. When alpha is not NULL it receives the
 * scaled forward vectors of frames 0 .. T-2 (each row a positive multiple of
 * alpha_t) and, in row T-1, the last frame's posteriors. */
HMM_MULTIVERSION
static double hmm_scaled_forward(
    const hmm_frames *frames,               /* IN this sequence's frames */
    ptrdiff_t n_frames, ptrdiff_t n,
    const double *restrict log_startprob,   /* IN (N,) */
    const double *restrict transmat,        /* IN (w, w) padded (N, N when N > 16); every entry >= the minimum */
    const double *restrict log_endprob,     /* IN (N,) */
    double *restrict alpha,                 /* OUT (T, N) or NULL */
    double *restrict work)                  /* hmm_scaled_work_size(n) */
{
#define HMM_FORWARD_W(W) hmm_forward_impl(frames, n_frames, n, W, log_startprob, transmat, \
                                          log_endprob, alpha, work)
    HMM_BY_STRIDE(n, HMM_FORWARD_W)
#undef HMM_FORWARD_W
}

/* xi_sums[i, j] += sum_k p[k, i] * v[k, j] over nb rows of stride w; with
 * dgemm (not NULL) when the rows are unpadded (w > HMM_MAX_PADDED). */
static inline __attribute__((always_inline)) void
hmm_xi_flush(const double *restrict p, const double *restrict v, ptrdiff_t nb,
             double *restrict xi_sums, ptrdiff_t n, const ptrdiff_t w, hmm_dgemm_t dgemm)
{
    if (nb == 0)
        return;
    if (w > HMM_MAX_PADDED && dgemm != NULL) {
        /* column-major: xi_sums^T += V^T P, i.e. C(n x n) += A(n x nb) B(n x nb)^T */
        char no = 'N', tr = 'T';
        int m = (int)n, kk = (int)nb;
        double one = 1.0;
        dgemm(&no, &tr, &m, &m, &kk, &one, (double *)v, &m, (double *)p, &m, &one,
              xi_sums, &m);
        return;
    }
    if (w <= HMM_MAX_PADDED) {
        for (ptrdiff_t i = 0; i < n; i++) {
            double acc[HMM_MAX_PADDED];
            for (ptrdiff_t j = 0; j < w; j++)
                acc[j] = 0.0;
            for (ptrdiff_t k = 0; k < nb; k++) {
                const double pk = p[k * w + i];
                for (ptrdiff_t j = 0; j < w; j++)
                    acc[j] += pk * v[k * w + j];
            }
            for (ptrdiff_t j = 0; j < n; j++)
                xi_sums[i * n + j] += acc[j];
        }
        return;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        double *restrict row = xi_sums + i * n;
        for (ptrdiff_t k = 0; k < nb; k++) {
            const double pk = p[k * w + i];
            const double *restrict vk = v + k * w;
            for (ptrdiff_t j = 0; j < n; j++)
                row[j] += pk * vk[j];
        }
    }
}

static inline __attribute__((always_inline)) double
hmm_posteriors_impl(const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n,
                    const ptrdiff_t w, const double *restrict log_startprob,
                    const double *restrict transmat, const double *restrict transmat_t,
                    const double *restrict log_endprob, double *restrict post,
                    double *restrict start_counts, double *restrict xi_sums,
                    double *restrict end_counts, double *restrict work, hmm_dgemm_t dgemm)
{
    double *b = work;
    double *shift = work + HMM_BLOCK * w;
    double *p_rows = shift + HMM_BLOCK;
    double *v_rows = p_rows + HMM_BLOCK * w;
    double *beta = v_rows + HMM_BLOCK * w;
    double *v = beta + w;
    double *arow = v + w;
    const double *bptr[HMM_BLOCK];
    ptrdiff_t t, i, j, filled = 0, block_lo;
    const int accumulate = xi_sums != NULL;

    /* The forward pass uses b, shift and the first 2w doubles after shift
     * (p_rows): nothing it leaves there is needed afterwards. */
    const double loglik = hmm_forward_impl(frames, n_frames, n, w, log_startprob, transmat,
                                           log_endprob, post, work);
    if (loglik == -__builtin_inf()) {
        memset(post, 0, n_frames * n * sizeof(double));
        return loglik;
    }
    if (accumulate)
        for (j = 0; j < n; j++)
            end_counts[j] += post[(n_frames - 1) * n + j];
    if (n_frames == 1) {
        if (accumulate)
            for (j = 0; j < n; j++)
                start_counts[j] += post[j];
        return loglik;
    }

    /* v_{T-1} = b_{T-1} * beta_{T-1} = exp(log_frameprob + log_end), relative to its max */
    const double *final = hmm_log_row(frames, n_frames - 1, n);
    for (j = 0; j < n; j++)
        v[j] = final[j] + log_endprob[j];
    const double m = hmm_max(v, n);
    for (j = 0; j < n; j++)
        v[j] = hmm_exp1(v[j] - m);
    for (j = n; j < w; j++) {
        v[j] = 0.0;
        arow[j] = 0.0;
    }
    hmm_matvec(v, transmat_t, beta, n, w);

    block_lo = n_frames;   /* no b block computed yet */
    for (t = n_frames - 2; t >= 0; t--) {
        double *restrict a = post + t * n;
        hmm_copy(arow, a, n);
        const double inv_z = 1.0 / hmm_dot(arow, beta, w);
        if (accumulate) {
            for (i = 0; i < w; i++)
                p_rows[filled * w + i] = arow[i] * inv_z;
            hmm_copy(v_rows + filled * w, v, w);
            if (++filled == HMM_BLOCK) {
                hmm_xi_flush(p_rows, v_rows, filled, xi_sums, n, w, dgemm);
                filled = 0;
            }
        }
        for (i = 0; i < n; i++)
            a[i] = arow[i] * beta[i] * inv_z;
        if (t == 0)
            break;
        if (t < block_lo) {   /* b for frames block_lo .. t */
            block_lo = t - HMM_BLOCK + 1 < 1 ? 1 : t - HMM_BLOCK + 1;
            hmm_frame_block(frames, block_lo, t - block_lo + 1, n, w, b, shift, bptr);
        }
        hmm_copy(v, beta, w);
        const double s = hmm_mul_sum(v, bptr[t - block_lo], w);
        if (s < HMM_RESCALE_BELOW)
            hmm_rescale(v, s, w);
        hmm_matvec(v, transmat_t, beta, n, w);
    }
    if (accumulate) {
        hmm_xi_flush(p_rows, v_rows, filled, xi_sums, n, w, dgemm);
        for (j = 0; j < n; j++)
            start_counts[j] += post[j];
    }
    return loglik;
}

/* Posteriors of one sequence and, when xi_sums is not NULL, its expected
 * counts: start_counts += gamma_0, end_counts += gamma_{T-1}, and
 * xi_sums[i, j] += sum_t alpha_t[i] v_{t+1}[j] / Z_t with v = b * beta and
 * Z_t = alpha_t . beta_t, so that the expected transitions are
 * transmat * xi_sums (the caller multiplies once, after summing).
 * Every frame is normalised on its own, so precision does not decay with
 * length. Returns the log-likelihood; an impossible sequence gets -inf and
 * zero posteriors and adds nothing. */
HMM_MULTIVERSION
static double hmm_scaled_posteriors(
    const hmm_frames *frames,               /* IN this sequence's frames */
    ptrdiff_t n_frames, ptrdiff_t n,
    const double *restrict log_startprob,   /* IN (N,) */
    const double *restrict transmat,        /* IN (w, w) padded (N, N when N > 16) */
    const double *restrict transmat_t,      /* IN its transpose, padded alike */
    const double *restrict log_endprob,     /* IN (N,) */
    double *restrict post,                  /* OUT (T, N) */
    double *restrict start_counts,          /* OUT (N,) accumulated, or NULL */
    double *restrict xi_sums,               /* OUT (N, N) accumulated, or NULL */
    double *restrict end_counts,            /* OUT (N,) accumulated, or NULL */
    double *restrict work,                  /* hmm_scaled_work_size(n) */
    hmm_dgemm_t dgemm)                      /* for the xi sums, or NULL: loops */
{
#define HMM_POSTERIORS_W(W) hmm_posteriors_impl(frames, n_frames, n, W, log_startprob, \
        transmat, transmat_t, log_endprob, post, start_counts, xi_sums, end_counts, work, dgemm)
    HMM_BY_STRIDE(n, HMM_POSTERIORS_W)
#undef HMM_POSTERIORS_W
}

#endif
