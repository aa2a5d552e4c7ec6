/* Forward-backward for a group of sequences advanced in lockstep.
 *
 * At large N a step of one sequence streams the N x N transition matrix from
 * L2 for N multiply-adds per entry loaded: the matrix-vector product is bound
 * by memory, not arithmetic. Advancing G sequences together turns the step
 * into one (G x N) x (N x N) matrix product (BLAS dgemm), which reuses each
 * entry G times and runs at the machine's multiply-add rate.
 *
 * The arithmetic per row is the scaled recursion of _scaled.h: each row keeps
 * its own sum of frame shifts (Neumaier) and power-of-two exponent, first and
 * last frames are done in log space, and every transition must be at least
 * HMM_SCALED_MIN_TRANSITION, so the result equals exact log-space arithmetic
 * by the same bound. Only the order of the additions inside a product
 * differs from the one-sequence kernels (a rounding difference).
 *
 * A group's rows are sorted by decreasing length, so the rows still running
 * at any step form a prefix and the product shrinks as sequences end; the
 * forward pass aligns the rows at their first frame, the backward pass at
 * their last. Rows are addressed through starts[] and lengths[] into the
 * concatenated batch.
 */
#ifndef HMM_CORE_LOCKSTEP_H
#define HMM_CORE_LOCKSTEP_H

#include "_scaled.h"

/* doubles of scratch a group of g rows needs (forward or backward) */
static inline ptrdiff_t hmm_lockstep_work_size(ptrdiff_t g, ptrdiff_t n)
{
    return 3 * g * n + 4 * g + hmm_stride(n);
}

/* rows active at step u of a group sorted by decreasing length: lengths > u */
static inline ptrdiff_t hmm_active(const int64_t *lengths, ptrdiff_t g, ptrdiff_t u)
{
    while (g > 0 && lengths[g - 1] <= u)
        g--;
    return g;
}

/* out (k x n) = x (k x n) @ op(a), all row-major, op(a) = a or its transpose
 * a_t. A lone row (the tail of a ragged group) takes the vector kernel: dgemm
 * with one row ran 30% slower at N = 256. */
HMM_INLINE void
hmm_rows_times(const double *x, const double *a, const double *a_t, double *out,
               ptrdiff_t k, ptrdiff_t n, int trans, hmm_dgemm_t dgemm)
{
    if (k == 1) {
        hmm_vecmat_impl(x, trans ? a_t : a, out, n);
        return;
    }
    /* column-major view: out^T = op(a)^T x^T */
    char op = trans ? 'T' : 'N', no = 'N';
    int m = (int)n, kk = (int)k;
    double one = 1.0, zero = 0.0;
    dgemm(&op, &no, &m, &kk, &m, &one, (double *)a, &m, (double *)x, &m, &zero, out, &m);
}

/* Forward pass of one group: loglik[r] for row r; when alpha is not NULL,
 * the rows of each sequence receive what hmm_scaled_forward stores (scaled
 * forward vectors, and the last frame's posteriors). */
HMM_INLINE void hmm_lockstep_forward_impl(
    const hmm_frames *base,                 /* IN the batch's frames */
    const int64_t *starts,                  /* IN (g,) first frame of each row */
    const int64_t *lengths,                 /* IN (g,) >= 1, non-increasing */
    ptrdiff_t g, ptrdiff_t n,
    const double *restrict log_startprob,   /* IN (N,) */
    const double *restrict transmat,        /* IN (N, N) unpadded, every entry >= the minimum */
    const double *restrict log_endprob,     /* IN (N,) */
    double *restrict loglik,                /* OUT (g,) */
    double *restrict alpha,                 /* OUT (T_total, N) batch rows, or NULL */
    double *restrict work,                  /* hmm_lockstep_work_size(g, n) */
    hmm_dgemm_t dgemm)
{
    const ptrdiff_t w = hmm_stride(n);
    double *x = work, *y = x + g * n;
    double *total = y + 2 * g * n, *comp = total + g, *expo = comp + g;
    double *b = expo + g;
    ptrdiff_t r, j, u;

    for (r = 0; r < g; r++) {   /* frame 0 in log space */
        const hmm_frames f = hmm_frames_from(base, starts[r], n);
        double *cur = x + r * n;
        const double *first = hmm_log_row(&f, 0, n);
        comp[r] = 0.0;
        expo[r] = 0.0;
        if (lengths[r] == 1) {
            for (j = 0; j < n; j++)
                cur[j] = log_startprob[j] + first[j];
            loglik[r] = hmm_close(cur, log_endprob, alpha != NULL ? alpha + starts[r] * n
                                                                  : NULL, n);
            continue;
        }
        total[r] = hmm_exp_start_baseline(cur, log_startprob, first, n, n);
        loglik[r] = total[r];   /* -inf marks a row already impossible */
        if (total[r] == -INFINITY)
            memset(cur, 0, n * sizeof(double));
        if (alpha != NULL)
            memcpy(alpha + starts[r] * n, cur, n * sizeof(double));
    }

    for (u = 1; u < lengths[0]; u++) {
        const ptrdiff_t k = hmm_active(lengths, g, u);
        hmm_rows_times(x, transmat, NULL, y, k, n, 0, dgemm);
        for (r = 0; r < k; r++) {
            double *row = y + r * n;
            if (loglik[r] == -INFINITY) {
                memset(row, 0, n * sizeof(double));   /* keeps the product finite */
                continue;
            }
            const hmm_frames f = hmm_frames_from(base, starts[r], n);
            double *out = alpha != NULL ? alpha + (starts[r] + u) * n : NULL;
            if (u == lengths[r] - 1) {   /* last frame in log space */
                const double last = hmm_close_last(row, hmm_log_row(&f, u, n), log_endprob,
                                                   out, n);
                loglik[r] = last == -INFINITY
                    ? last
                    : (total[r] + comp[r]) + (expo[r] * 0.69314718055994530942 + last);
                continue;
            }
            double shift;
            const double *bp;
            if (!hmm_frame_block(&f, u, 1, n, w, b, &shift, &bp)) {
                loglik[r] = -INFINITY;
                memset(row, 0, n * sizeof(double));
                continue;
            }
            hmm_add_shifts(&shift, 1, &total[r], &comp[r]);
            double s = 0.0;
            for (j = 0; j < n; j++) {
                row[j] *= bp[j];
                s += row[j];
            }
            if (s < HMM_RESCALE_BELOW)
                expo[r] += hmm_rescale(row, s, n);
            if (out != NULL)
                memcpy(out, row, n * sizeof(double));
        }
        double *swap = x;
        x = y;
        y = swap;
    }
}

HMM_DISPATCH_VOID(hmm_lockstep_forward,
                  (const hmm_frames *base, const int64_t *starts, const int64_t *lengths,
                   ptrdiff_t g, ptrdiff_t n, const double *restrict log_startprob,
                   const double *restrict transmat, const double *restrict log_endprob,
                   double *restrict loglik, double *restrict alpha, double *restrict work,
                   hmm_dgemm_t dgemm),
                  (base, starts, lengths, g, n, log_startprob, transmat, log_endprob, loglik,
                   alpha, work, dgemm))

/* Backward pass of one group after hmm_lockstep_forward stored its rows in
 * post: turns them into posteriors and, when xi_sums is not NULL, adds the
 * group's expected counts as hmm_scaled_posteriors does (xi_sums times
 * transmat are the transition counts). Impossible rows (loglik -inf) get
 * zero posteriors and add nothing. */
HMM_INLINE void hmm_lockstep_backward_impl(
    const hmm_frames *base,                 /* IN the batch's frames */
    const int64_t *starts,                  /* IN (g,) */
    const int64_t *lengths,                 /* IN (g,) >= 1, non-increasing */
    ptrdiff_t g, ptrdiff_t n,
    const double *restrict transmat,        /* IN (N, N) unpadded */
    const double *restrict transmat_t,      /* IN its transpose, (N, N) */
    const double *restrict log_endprob,     /* IN (N,) */
    const double *restrict loglik,          /* IN (g,) from the forward pass */
    double *restrict post,                  /* IN forward rows, OUT posteriors (T_total, N) */
    double *restrict start_counts,          /* OUT (N,) accumulated, or NULL */
    double *restrict xi_sums,               /* OUT (N, N) accumulated, or NULL */
    double *restrict end_counts,            /* OUT (N,) accumulated, or NULL */
    double *restrict work,                  /* hmm_lockstep_work_size(g, n) */
    hmm_dgemm_t dgemm,                      /* for the products */
    int xi_gemm)                            /* and, when true, for the xi sums */
{
    const ptrdiff_t w = hmm_stride(n);
    double *v = work, *beta = v + g * n, *p = beta + g * n;
    double *b = p + g * n + 4 * g;
    const int accumulate = xi_sums != NULL;
    ptrdiff_t r, j, u;

    for (r = 0; r < g; r++) {   /* v at the last frame: exp(log b + log end) */
        double *last = post + (starts[r] + lengths[r] - 1) * n;
        double *vr = v + r * n;
        if (loglik[r] == -INFINITY) {
            memset(post + starts[r] * n, 0, lengths[r] * n * sizeof(double));
            memset(vr, 0, n * sizeof(double));
            continue;
        }
        if (accumulate) {
            for (j = 0; j < n; j++)
                end_counts[j] += last[j];
            if (lengths[r] == 1)
                for (j = 0; j < n; j++)
                    start_counts[j] += last[j];
        }
        const hmm_frames f = hmm_frames_from(base, starts[r], n);
        hmm_exp_start(vr, hmm_log_row(&f, lengths[r] - 1, n), log_endprob, n, n);
    }

    for (u = 1; u < lengths[0]; u++) {
        const ptrdiff_t k = hmm_active(lengths, g, u);
        hmm_rows_times(v, transmat, transmat_t, beta, k, n, 1, dgemm);
        for (r = 0; r < k; r++) {
            double *br = beta + r * n, *pr = p + r * n;
            if (loglik[r] == -INFINITY) {
                memset(pr, 0, n * sizeof(double));
                memset(br, 0, n * sizeof(double));
                continue;
            }
            const ptrdiff_t t = lengths[r] - 1 - u;
            double *a = post + (starts[r] + t) * n;
            double z = 0.0;
            for (j = 0; j < n; j++)
                z += a[j] * br[j];
            const double inv_z = 1.0 / z;
            for (j = 0; j < n; j++) {
                pr[j] = a[j] * inv_z;
                a[j] = pr[j] * br[j];
            }
            if (t == 0) {
                if (accumulate)
                    for (j = 0; j < n; j++)
                        start_counts[j] += a[j];
                continue;
            }
            const hmm_frames f = hmm_frames_from(base, starts[r], n);
            double shift, s = 0.0;
            const double *bp = NULL;
            hmm_frame_block(&f, t, 1, n, w, b, &shift, &bp);   /* possible: loglik > -inf */
            for (j = 0; j < n; j++) {
                br[j] *= bp[j];
                s += br[j];
            }
            if (s < HMM_RESCALE_BELOW)
                hmm_rescale(br, s, n);
        }
        if (accumulate)   /* xi_sums[i, j] += sum_r p[r, i] v[r, j] */
            hmm_xi_flush(p, v, k, xi_sums, n, n, xi_gemm ? dgemm : NULL);
        double *swap = v;
        v = beta;
        beta = swap;
    }
}

HMM_DISPATCH_VOID(hmm_lockstep_backward,
                  (const hmm_frames *base, const int64_t *starts, const int64_t *lengths,
                   ptrdiff_t g, ptrdiff_t n, const double *restrict transmat,
                   const double *restrict transmat_t, const double *restrict log_endprob,
                   const double *restrict loglik, double *restrict post,
                   double *restrict start_counts, double *restrict xi_sums,
                   double *restrict end_counts, double *restrict work, hmm_dgemm_t dgemm,
                   int xi_gemm),
                  (base, starts, lengths, g, n, transmat, transmat_t, log_endprob, loglik, post,
                   start_counts, xi_sums, end_counts, work, dgemm, xi_gemm))

#endif
