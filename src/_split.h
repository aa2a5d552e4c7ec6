/* Posteriors of one long sequence on two threads (see _scaled.pxd).
 *
 * The backward recursion needs no forward vector: with v_t = b_t * beta_t,
 * v_t = (v_{t+1} A^T) * b_t, which is the forward step run backwards in time
 * with A^T. So one thread runs the forward pass (alpha rows into post) while
 * the other runs this backward pass and stores v_1 .. v_{T-1}; both rescale
 * exactly as the one-thread kernel does, so the exactness argument of
 * _scaled.h holds unchanged. Then each thread combines half of the frames:
 * beta_t = v_{t+1} A^T, gamma_t = alpha_t beta_t / Z_t with Z_t = alpha_t . beta_t,
 * and the transition sums alpha_t / Z_t (x) v_{t+1}.
 */
#ifndef HMM_CORE_SPLIT_H
#define HMM_CORE_SPLIT_H

#include "_scaled.h"

/* The backward pass of one sequence, rows of stride w, latest frame first:
 * v_rows[j] = v_{T-1-j} and beta_rows[j] = beta_{T-2-j} for j = 0 .. T-2, every
 * row a positive multiple of the true vector, and beta_t = v_{t+1} A^T exactly
 * as computed. Above 16 states beta_rows may be NULL: the combining step then
 * recomputes beta from v a block at a time with dgemm, which costs less than
 * the memory traffic of storing it.
 * Returns 0 when a frame is impossible in every state (the forward pass then
 * finds the sequence impossible too), else 1. */
HMM_INLINE int
hmm_backward_rows_w(const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n,
                    const ptrdiff_t w, const double *restrict transmat_t,
                    const double *restrict log_endprob, double *restrict v_rows,
                    double *restrict beta_rows, double *restrict work)
{
    double *b = work;
    double *shift = work + HMM_BLOCK * w;
    double *cur = shift + HMM_BLOCK;
    double *nxt = cur + w;
    const double *bptr[HMM_BLOCK], *reversed[HMM_BLOCK];
    ptrdiff_t k;

    /* v_{T-1} = exp(log_frameprob + log_end), relative to its max */
    if (hmm_exp_start(cur, log_endprob, hmm_log_row(frames, n_frames - 1, n), n, w)
        == -INFINITY)
        return 0;
    hmm_copy(v_rows, cur, w);

    /* frames T-2 down to 1, a block of up to HMM_BLOCK at a time */
    for (ptrdiff_t hi = n_frames - 2; hi >= 1; hi -= HMM_BLOCK) {
        const ptrdiff_t lo = hi - HMM_BLOCK + 1 < 1 ? 1 : hi - HMM_BLOCK + 1;
        const ptrdiff_t nb = hi - lo + 1;
        if (!hmm_frame_block(frames, lo, nb, n, w, b, shift, bptr))
            return 0;
        for (k = 0; k < nb; k++)
            reversed[k] = bptr[nb - 1 - k];
        double *v_out = v_rows + (n_frames - 1 - hi) * w;
        if (w <= HMM_MAX_PADDED) {
            hmm_forward_block_small(cur, transmat_t, reversed, nb, v_out, w,
                                    beta_rows + (n_frames - 2 - hi) * w, w);
            continue;
        }
        for (k = 0; k < nb; k++) {
            hmm_matvec(cur, transmat_t, nxt, n, w);
            if (beta_rows != NULL)
                hmm_copy(beta_rows + (n_frames - 2 - hi + k) * w, nxt, w);
            hmm_copy(cur, nxt, w);
            const double s = hmm_mul_sum(cur, reversed[k], w);
            if (s < HMM_RESCALE_BELOW)
                hmm_rescale(cur, s, w);
            hmm_copy(v_out + k * w, cur, w);
        }
    }
    if (beta_rows != NULL)   /* beta_0 = v_1 A^T */
        hmm_matvec(cur, transmat_t, beta_rows + (n_frames - 2) * w, n, w);
    return 1;
}

HMM_INLINE int hmm_backward_rows_impl(
    const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n,
    const double *restrict transmat_t,  /* IN (w, w) padded */
    const double *restrict log_endprob, /* IN (N,) */
    double *restrict v_rows,            /* OUT (T - 1, w) */
    double *restrict beta_rows,         /* OUT (T - 1, w), or NULL (w > 16) */
    double *restrict work)              /* hmm_scaled_work_size(n) */
{
#define HMM_BACKWARD_W(W) hmm_backward_rows_w(frames, n_frames, n, W, transmat_t, \
                                              log_endprob, v_rows, beta_rows, work)
    HMM_BY_STRIDE(n, HMM_BACKWARD_W)
#undef HMM_BACKWARD_W
}

HMM_DISPATCH(int, hmm_backward_rows,
             (const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t n,
              const double *restrict transmat_t, const double *restrict log_endprob,
              double *restrict v_rows, double *restrict beta_rows, double *restrict work),
             (frames, n_frames, n, transmat_t, log_endprob, v_rows, beta_rows, work))

/* Frames t0 .. t1 - 1 (t1 <= T - 1): alpha rows of post become posteriors, and
 * when xi_sums is not NULL the transition sums of these frames are added to
 * it, and gamma_0 to start_counts if t0 == 0. The frames go in blocks that
 * end at t1, latest first, as in the one-thread kernel. */
HMM_INLINE void
hmm_combine_w(ptrdiff_t n_frames, ptrdiff_t n, const ptrdiff_t w, ptrdiff_t t0,
              ptrdiff_t t1, const double *restrict transmat,
              const double *restrict transmat_t, const double *restrict v_rows,
              const double *restrict beta_rows, double *restrict post,
              double *restrict start_counts, double *restrict xi_sums,
              double *restrict work, hmm_dgemm_t dgemm)
{
    double *p_rows = work;                          /* HMM_BLOCK x w */
    double *arow = p_rows + HMM_BLOCK * w;          /* w */
    double *block_beta = arow + w;                  /* HMM_BLOCK x w, when beta_rows is NULL */
    ptrdiff_t i, k;

    for (i = n; i < w; i++)
        arow[i] = 0.0;
    for (ptrdiff_t hi = t1 - 1; hi >= t0; hi -= HMM_BLOCK) {
        const ptrdiff_t nb = hi - t0 + 1 < HMM_BLOCK ? hi - t0 + 1 : HMM_BLOCK;
        /* v_{t+1} for t = hi, hi - 1, ...: consecutive rows from index T-2-hi */
        const double *v_block = v_rows + (n_frames - 2 - hi) * w;
        if (beta_rows == NULL) {   /* beta_t = A v_{t+1} for the block */
            if (dgemm != NULL) {
                /* column-major: beta(w x nb) = A(w x w) V(w x nb); row-major A is A^T */
                char tr = 'T', no = 'N';
                int mm = (int)w, kk = (int)nb;
                double one = 1.0, zero = 0.0;
                dgemm(&tr, &no, &mm, &kk, &mm, &one, (double *)transmat, &mm,
                      (double *)v_block, &mm, &zero, block_beta, &mm);
            } else {
                for (k = 0; k < nb; k++)
                    hmm_matvec(v_block + k * w, transmat_t, block_beta + k * w, n, w);
            }
        }
        for (k = 0; k < nb; k++) {   /* frame t = hi - k */
            double *restrict a = post + (hi - k) * n;
            const double *restrict beta = beta_rows != NULL
                ? beta_rows + (n_frames - 2 - (hi - k)) * w : block_beta + k * w;
            hmm_copy(arow, a, n);
            const double inv_z = 1.0 / hmm_dot(arow, beta, w);
            for (i = 0; i < w; i++)
                p_rows[k * w + i] = arow[i] * inv_z;
            for (i = 0; i < n; i++)
                a[i] = arow[i] * beta[i] * inv_z;
        }
        if (xi_sums != NULL)
            hmm_xi_flush(p_rows, v_block, nb, xi_sums, n, w, dgemm);
    }
    if (xi_sums != NULL && t0 == 0)
        for (i = 0; i < n; i++)
            start_counts[i] += post[i];
}

#define HMM_COMBINE_W(W) hmm_combine_w(n_frames, n, W, t0, t1, transmat, transmat_t, \
                                       v_rows, beta_rows, post, start_counts, xi_sums, \
                                       work, dgemm)
HMM_INLINE void hmm_combine_impl(
    ptrdiff_t n_frames, ptrdiff_t n, ptrdiff_t t0, ptrdiff_t t1,
    const double *restrict transmat,   /* IN (w, w) padded */
    const double *restrict transmat_t, /* IN its transpose */
    const double *restrict v_rows,     /* IN hmm_backward_rows */
    const double *restrict beta_rows,  /* IN hmm_backward_rows, or NULL */
    double *restrict post,             /* IN alpha, OUT gamma (T, N) */
    double *restrict start_counts,     /* OUT (N,) accumulated */
    double *restrict xi_sums,          /* OUT (N, N) accumulated, or NULL */
    double *restrict work,             /* hmm_scaled_work_size(n) */
    hmm_dgemm_t dgemm)                 /* for beta and the xi sums, or NULL */
{
    switch (hmm_stride(n)) {
    case 4: HMM_COMBINE_W(4); return;
    case 8: HMM_COMBINE_W(8); return;
    case HMM_MAX_PADDED: HMM_COMBINE_W(HMM_MAX_PADDED); return;
    default: HMM_COMBINE_W(n); return;
    }
}
#undef HMM_COMBINE_W

HMM_DISPATCH_VOID(hmm_combine,
                  (ptrdiff_t n_frames, ptrdiff_t n, ptrdiff_t t0, ptrdiff_t t1,
                   const double *restrict transmat, const double *restrict transmat_t,
                   const double *restrict v_rows, const double *restrict beta_rows,
                   double *restrict post, double *restrict start_counts,
                   double *restrict xi_sums, double *restrict work, hmm_dgemm_t dgemm),
                  (n_frames, n, t0, t1, transmat, transmat_t, v_rows, beta_rows, post,
                   start_counts, xi_sums, work, dgemm))

/* ---- The likelihood of one long sequence on two threads: for any m,
 * P(x) = alpha_m . beta_m, so one thread runs the forward pass over frames
 * 0 .. m while the other runs the backward pass over frames T-1 .. m+1. Each
 * gives its vector (scaled, w wide) and returns the log of its scale. */

/* out = alpha_m * exp(-returned value), frames 0 .. m (m >= 1); -inf if impossible. */
HMM_INLINE double
hmm_forward_to_w(const hmm_frames *frames, ptrdiff_t m, ptrdiff_t n, const ptrdiff_t w,
                 const double *restrict log_startprob, const double *restrict transmat,
                 double *restrict out, double *restrict work)
{
    double *b = work;
    double *shift = work + HMM_BLOCK * w;
    double *cur = shift + HMM_BLOCK;
    double *nxt = cur + w;
    const double *bptr[HMM_BLOCK];
    double total, comp = 0.0;
    long exponent = 0;

    total = hmm_exp_start(cur, log_startprob, hmm_log_row(frames, 0, n), n, w);
    if (total == -INFINITY)
        return total;
    for (ptrdiff_t t = 1; t <= m; t += HMM_BLOCK) {
        const ptrdiff_t nb = m + 1 - t < HMM_BLOCK ? m + 1 - t : HMM_BLOCK;
        if (!hmm_frame_block(frames, t, nb, n, w, b, shift, bptr))
            return -INFINITY;
        hmm_add_shifts(shift, nb, &total, &comp);
        exponent += hmm_steps(cur, nxt, transmat, bptr, nb, NULL, n, w);
    }
    hmm_copy(out, cur, w);
    return (total + comp) + (double)exponent * 0.69314718055994530942;
}

/* out = beta_m * exp(-returned value), frames T-1 .. m+1 (m <= T-2); -inf if impossible. */
HMM_INLINE double
hmm_backward_to_w(const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t m, ptrdiff_t n,
                  const ptrdiff_t w, const double *restrict transmat_t,
                  const double *restrict log_endprob, double *restrict out,
                  double *restrict work)
{
    double *b = work;
    double *shift = work + HMM_BLOCK * w;
    double *cur = shift + HMM_BLOCK;
    double *nxt = cur + w;
    const double *bptr[HMM_BLOCK], *reversed[HMM_BLOCK];
    double total, comp = 0.0;
    long exponent = 0;
    ptrdiff_t k;

    total = hmm_exp_start(cur, log_endprob, hmm_log_row(frames, n_frames - 1, n), n, w);
    if (total == -INFINITY)
        return total;
    for (ptrdiff_t hi = n_frames - 2; hi >= m + 1; hi -= HMM_BLOCK) {
        const ptrdiff_t lo = hi - HMM_BLOCK + 1 < m + 1 ? m + 1 : hi - HMM_BLOCK + 1;
        const ptrdiff_t nb = hi - lo + 1;
        if (!hmm_frame_block(frames, lo, nb, n, w, b, shift, bptr))
            return -INFINITY;
        for (k = 0; k < nb; k++)
            reversed[k] = bptr[nb - 1 - k];
        hmm_add_shifts(shift, nb, &total, &comp);
        exponent += hmm_steps(cur, nxt, transmat_t, reversed, nb, NULL, n, w);
    }
    hmm_matvec(cur, transmat_t, out, n, w);   /* beta_m = v_{m+1} A^T */
    return (total + comp) + (double)exponent * 0.69314718055994530942;
}

HMM_INLINE double hmm_forward_to_impl(
    const hmm_frames *frames, ptrdiff_t m, ptrdiff_t n,
    const double *restrict log_startprob,
    const double *restrict transmat,   /* IN (w, w) padded */
    double *restrict out,              /* OUT (w,) */
    double *restrict work)             /* hmm_scaled_work_size(n) */
{
#define HMM_TO_W(W) hmm_forward_to_w(frames, m, n, W, log_startprob, transmat, out, work)
    HMM_BY_STRIDE(n, HMM_TO_W)
#undef HMM_TO_W
}

HMM_DISPATCH(double, hmm_forward_to,
             (const hmm_frames *frames, ptrdiff_t m, ptrdiff_t n,
              const double *restrict log_startprob, const double *restrict transmat,
              double *restrict out, double *restrict work),
             (frames, m, n, log_startprob, transmat, out, work))

HMM_INLINE double hmm_backward_to_impl(
    const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t m, ptrdiff_t n,
    const double *restrict transmat_t,  /* IN (w, w) padded */
    const double *restrict log_endprob, /* IN (N,) */
    double *restrict out,               /* OUT (w,) */
    double *restrict work)              /* hmm_scaled_work_size(n) */
{
#define HMM_TO_W(W) hmm_backward_to_w(frames, n_frames, m, n, W, transmat_t, log_endprob, \
                                      out, work)
    HMM_BY_STRIDE(n, HMM_TO_W)
#undef HMM_TO_W
}

HMM_DISPATCH(double, hmm_backward_to,
             (const hmm_frames *frames, ptrdiff_t n_frames, ptrdiff_t m, ptrdiff_t n,
              const double *restrict transmat_t, const double *restrict log_endprob,
              double *restrict out, double *restrict work),
             (frames, n_frames, m, n, transmat_t, log_endprob, out, work))

#endif
