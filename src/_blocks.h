/* Viterbi over one block of a long sequence, carrying the score vector in
 * and out, so that blocks chained one after the other compute exactly what
 * hmm_viterbi_sequence computes over the whole sequence.
 *
 * The per-step work reuses the step blocks of _viterbi_kernels.h (AVX2) or
 * the same arithmetic in plain loops: delta_t[j] = max_i (delta_{t-1}[i] +
 * log_a[i, j]) + frame[j], lowest maximising i as back-pointer. A maximum is
 * exact whatever the order of its operands, so the scores are bit for bit
 * those of the one-call kernel and so are the back-pointers (same tie rule).
 *
 * delta is (n_pad,), padded with -inf. bp is (n_frames, n_pad) back-pointer
 * rows of `size` bytes, or one row reused by every step when bp_stride is 0
 * (the first pass keeps only the scores).
 */
#ifndef HMM_CORE_BLOCKS_H
#define HMM_CORE_BLOCKS_H

#include "_viterbi_kernels.h"

HMM_INLINE void hmm_blk_step_portable(const double *restrict delta,
                                      const double *restrict log_a,
                                      const double *restrict frame, double *restrict next,
                                      void *restrict bp_row, ptrdiff_t n, int size)
{
    const ptrdiff_t n_pad = hmm_vit_padded(n);
    double best[HMM_VIT_STRIP], arg[HMM_VIT_STRIP];
    ptrdiff_t i, j0, k;
    for (j0 = 0; j0 < n_pad; j0 += HMM_VIT_STRIP) {
        const ptrdiff_t w = hmm_vit_strip(n_pad, j0);
        const double *restrict strip = log_a + j0 * n;
        for (k = 0; k < w; k++) {
            best[k] = -INFINITY;
            arg[k] = 0.0;
        }
        for (i = 0; i < n; i++) {
            const double d = delta[i], f = (double)i;
            const double *restrict ai = strip + i * w;
            if (d == -INFINITY)
                continue;
            for (k = 0; k < w; k++) {
                const double c = d + ai[k];
                const int better = c > best[k];
                best[k] = better ? c : best[k];
                arg[k] = better ? f : arg[k];
            }
        }
        for (k = 0; k < w; k++) {
            next[j0 + k] = j0 + k < n ? best[k] + frame[j0 + k] : -INFINITY;
            hmm_vit_bp_set(bp_row, j0 + k, (ptrdiff_t)arg[k], size);
        }
    }
}

static void hmm_blk_run_portable(const double *frames, ptrdiff_t n_frames,
                                 const double *log_a, double *delta, double *next, void *bp,
                                 ptrdiff_t bp_stride, ptrdiff_t n, int size)
{
    const ptrdiff_t n_pad = hmm_vit_padded(n);
    ptrdiff_t t, j;
    double *cur = delta, *nxt = next, *tmp;
    for (t = 0; t < n_frames; t++) {
        hmm_blk_step_portable(cur, log_a, frames + t * n, nxt,
                              (char *)bp + t * bp_stride * size, n, size);
        tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    if (cur != delta)
        for (j = 0; j < n_pad; j++)
            delta[j] = cur[j];
}

#if HMM_DISPATCH_AVX2
HMM_AVX2 HMM_NOINLINE void hmm_blk_run_avx2(const double *frames, ptrdiff_t n_frames,
                                            const double *log_a, double *delta, double *next,
                                            void *bp, ptrdiff_t bp_stride, ptrdiff_t n,
                                            int size)
{
    const ptrdiff_t n_pad = hmm_vit_padded(n);
    const ptrdiff_t j_tail = (n_pad / 16) * 16, tail_vectors = (n_pad - j_tail) / 4;
    ptrdiff_t t, j;
    double *cur = delta, *nxt = next, *tmp;
    for (t = 0; t < n_frames; t++) {
        const double *frame = frames + t * n;
        char *bp_row = (char *)bp + t * bp_stride * size;
        for (j = 0; j < j_tail; j += 16)
            hmm_vit_block4(cur, log_a, n, n_pad, j, nxt, bp_row, size);
        switch (tail_vectors) {
        case 1: hmm_vit_block1(cur, log_a, n, n_pad, j_tail, nxt, bp_row, size); break;
        case 2: hmm_vit_block2(cur, log_a, n, n_pad, j_tail, nxt, bp_row, size); break;
        case 3: hmm_vit_block3(cur, log_a, n, n_pad, j_tail, nxt, bp_row, size); break;
        default: break;
        }
        for (j = 0; j < n; j++)
            nxt[j] += frame[j];
        for (; j < n_pad; j++)
            nxt[j] = -INFINITY;
        tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    if (cur != delta)
        for (j = 0; j < n_pad; j++)
            delta[j] = cur[j];
}
#endif

/* Advance delta over n_frames frames (each a step from the previous score
 * vector); next is (n_pad,) scratch. */
static void hmm_blk_viterbi_run(const double *frames, ptrdiff_t n_frames, const double *log_a,
                                double *delta, double *next, void *bp, ptrdiff_t bp_stride,
                                ptrdiff_t n, int size, int simd)
{
#if HMM_DISPATCH_AVX2
    if (simd && hmm_cpu_avx2()) {
        hmm_blk_run_avx2(frames, n_frames, log_a, delta, next, bp, bp_stride, n, size);
        return;
    }
#else
    (void)simd;
#endif
    hmm_blk_run_portable(frames, n_frames, log_a, delta, next, bp, bp_stride, n, size);
}

#endif  /* HMM_CORE_BLOCKS_H */
