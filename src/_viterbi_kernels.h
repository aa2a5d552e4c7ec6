/* Viterbi decoding of one sequence, the whole time loop in C.
 *
 * delta_t[j] = max_i (delta_{t-1}[i] + log_a[i, j]) + log_frameprob[t, j], with
 * the lowest maximising i as back-pointer (numpy.argmax's tie rule). Each value
 * is computed with exactly the additions, in the same order, of the NumPy
 * reference, so log-probabilities and paths agree bit for bit.
 *
 * Two implementations with identical results, picked per call like the other
 * kernels' builds (see _simd.h):
 * - an AVX2 one (x86-64 with GCC or clang, when the CPU has AVX2 and FMA):
 *   for a block of up to 16 destination states, the running maxima and
 *   their indices stay in registers over all source states i; N <= 4 keeps the
 *   whole delta vector in one register and reduces the 4 candidate vectors as
 *   a tree, so a step is about 20 cycles of latency;
 * - a portable one (plain loops the compiler vectorises).
 *
 * The log transition matrix comes packed by hmm_viterbi_pack: columns padded
 * to n_pad = round_up(n, 4) with -inf, cut into strips of up to 16 columns, each
 * strip stored row-major on its own (n rows of its width) so that a block of a
 * step reads one contiguous stretch of memory. Back-pointers are rows of n_pad
 * entries of 1, 2 or 4 bytes (uint8 for n <= 256, uint16 for n <= 65536, int32
 * beyond).
 */
#ifndef HMM_CORE_VITERBI_KERNELS_H
#define HMM_CORE_VITERBI_KERNELS_H

#include "_simd.h"

#if HMM_DISPATCH_AVX2
#include <immintrin.h>
#endif

#define HMM_VIT_STRIP 16

static inline ptrdiff_t hmm_vit_padded(ptrdiff_t n) { return (n + 3) & ~(ptrdiff_t)3; }

/* Width of the strip starting at column j0. */
static inline ptrdiff_t hmm_vit_strip(ptrdiff_t n_pad, ptrdiff_t j0)
{
    return n_pad - j0 < HMM_VIT_STRIP ? n_pad - j0 : HMM_VIT_STRIP;
}

/* out (n * n_pad,): log_a (n, n) padded and cut into strips (see above); the
 * strip of columns j0.. starts at out + j0 * n. */
static void hmm_viterbi_pack(const double *log_a, ptrdiff_t n, double *out)
{
    const ptrdiff_t n_pad = hmm_vit_padded(n);
    ptrdiff_t j0, i, k;
    for (j0 = 0; j0 < n_pad; j0 += HMM_VIT_STRIP) {
        const ptrdiff_t w = hmm_vit_strip(n_pad, j0);
        double *strip = out + j0 * n;
        for (i = 0; i < n; i++)
            for (k = 0; k < w; k++)
                strip[i * w + k] = j0 + k < n ? log_a[i * n + j0 + k] : -INFINITY;
    }
}

/* Frame t's log-likelihoods: row t of a dense (n_frames, n) matrix, or row
 * index[t] of a (K, n) table when index is not NULL (categorical emissions:
 * no T x N matrix is materialised). */
#define HMM_VIT_FRAME(t) (index ? log_frameprob + index[t] * n : log_frameprob + (t) * n)

/* Back-pointer rows: element size 1, 2 or 4 (a compile-time constant after inlining). */
HMM_INLINE ptrdiff_t hmm_vit_bp_get(const void *bp, ptrdiff_t k, int size)
{
    if (size == 1)
        return ((const uint8_t *)bp)[k];
    if (size == 2)
        return ((const uint16_t *)bp)[k];
    return ((const int32_t *)bp)[k];
}

HMM_INLINE void hmm_vit_bp_set(void *bp, ptrdiff_t k, ptrdiff_t v, int size)
{
    if (size == 1)
        ((uint8_t *)bp)[k] = (uint8_t)v;
    else if (size == 2)
        ((uint16_t *)bp)[k] = (uint16_t)v;
    else
        ((int32_t *)bp)[k] = (int32_t)v;
}

/* Best final state (lowest index on ties) and the traceback; returns the
 * log-probability, or -inf with the path set to -1 when no path is possible. */
HMM_INLINE double hmm_vit_finish(const double *delta, const double *log_endprob,
                                 const void *bp, ptrdiff_t n_frames, ptrdiff_t n,
                                 ptrdiff_t n_pad, int64_t *path, int size)
{
    double top = -INFINITY;
    ptrdiff_t arg = -1, j, t;
    for (j = 0; j < n; j++) {
        const double cand = delta[j] + log_endprob[j];
        if (cand > top) {
            top = cand;
            arg = j;
        }
    }
    if (arg < 0) {
        for (t = 0; t < n_frames; t++)
            path[t] = -1;
        return -INFINITY;
    }
    path[n_frames - 1] = arg;
    for (t = n_frames - 1; t > 0; t--) {
        arg = hmm_vit_bp_get(bp, t * n_pad + arg, size);
        path[t - 1] = arg;
    }
    return top;
}

/* ------------------------------------------------------------ portable */

HMM_INLINE double hmm_vit_portable(
    const double *restrict log_frameprob, const int64_t *restrict index, ptrdiff_t n_frames,
    const double *restrict log_startprob, const double *restrict log_a,
    const double *restrict log_endprob, void *restrict bp,
    double *restrict work, int64_t *restrict path, ptrdiff_t n, int size)
{
    const ptrdiff_t n_pad = hmm_vit_padded(n);
    double *delta = work, *next = work + n_pad, *tmp;
    double best[HMM_VIT_STRIP], arg[HMM_VIT_STRIP];
    ptrdiff_t t, i, j, j0, k;
    const double *restrict first = HMM_VIT_FRAME(0);
    for (j = 0; j < n; j++)
        delta[j] = log_startprob[j] + first[j];
    for (t = 1; t < n_frames; t++) {
        const double *restrict frame = HMM_VIT_FRAME(t);
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
            for (k = 0; k < w && j0 + k < n; k++) {
                next[j0 + k] = best[k] + frame[j0 + k];
                hmm_vit_bp_set(bp, t * n_pad + j0 + k, (ptrdiff_t)arg[k], size);
            }
        }
        tmp = delta;
        delta = next;
        next = tmp;
    }
    return hmm_vit_finish(delta, log_endprob, bp, n_frames, n, n_pad, path, size);
}

/* ------------------------------------------------------------ AVX2 */
#if HMM_DISPATCH_AVX2

#define HMM_VIT_TARGET HMM_AVX2 HMM_INLINE

/* Store 4 back-pointers (indices held as doubles) as 1, 2 or 4-byte integers. */
HMM_VIT_TARGET void hmm_vit_store4(void *bp, ptrdiff_t k, __m256d idx, int size)
{
    const __m128i q = _mm256_cvttpd_epi32(idx);
    if (size == 4) {
        _mm_storeu_si128((__m128i *)((int32_t *)bp + k), q);
    } else if (size == 2) {
        _mm_storel_epi64((__m128i *)((uint16_t *)bp + k), _mm_packus_epi32(q, q));
    } else {
        const __m128i w = _mm_packus_epi32(q, q);
        const int32_t b = _mm_cvtsi128_si32(_mm_packus_epi16(w, w));
        memcpy((uint8_t *)bp + k, &b, 4);
    }
}

/* Lanes j < n_valid all-ones, others zero (for the last, partial frame vector). */
HMM_VIT_TARGET __m256i hmm_vit_mask(ptrdiff_t n_valid)
{
    const __m256i lanes = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n_valid), lanes);
}

/* N <= 4: delta lives in one register; rows beyond n are -inf. */
HMM_VIT_TARGET double hmm_vit_avx2_small(
    const double *restrict log_frameprob, const int64_t *restrict index, ptrdiff_t n_frames,
    const double *restrict log_startprob, const double *restrict log_a,
    const double *restrict log_endprob, void *restrict bp,
    double *restrict work, int64_t *restrict path, ptrdiff_t n, int size)
{
    const __m256d ninf = _mm256_set1_pd(-INFINITY);
    const __m256i fmask = hmm_vit_mask(n);
    const __m256d a0 = _mm256_loadu_pd(log_a);
    const __m256d a1 = n > 1 ? _mm256_loadu_pd(log_a + 4) : ninf;
    const __m256d a2 = n > 2 ? _mm256_loadu_pd(log_a + 8) : ninf;
    const __m256d a3 = n > 3 ? _mm256_loadu_pd(log_a + 12) : ninf;
    const __m256d one = _mm256_set1_pd(1.0), two = _mm256_set1_pd(2.0),
                  three = _mm256_set1_pd(3.0);
    __m256d delta;
    ptrdiff_t t;
    /* lanes >= n: -inf (never read as sources, never chosen at the end) */
    delta = _mm256_add_pd(_mm256_maskload_pd(log_startprob, fmask),
                          _mm256_maskload_pd(HMM_VIT_FRAME(0), fmask));
    delta = _mm256_blendv_pd(ninf, delta, _mm256_castsi256_pd(fmask));
    for (t = 1; t < n_frames; t++) {
        const __m256d c0 = _mm256_add_pd(_mm256_permute4x64_pd(delta, 0x00), a0);
        const __m256d c1 = _mm256_add_pd(_mm256_permute4x64_pd(delta, 0x55), a1);
        const __m256d c2 = _mm256_add_pd(_mm256_permute4x64_pd(delta, 0xaa), a2);
        const __m256d c3 = _mm256_add_pd(_mm256_permute4x64_pd(delta, 0xff), a3);
        /* the later candidate wins only when strictly greater */
        const __m256d g01 = _mm256_cmp_pd(c1, c0, _CMP_GT_OQ);
        const __m256d g23 = _mm256_cmp_pd(c3, c2, _CMP_GT_OQ);
        const __m256d m01 = _mm256_max_pd(c1, c0);
        const __m256d m23 = _mm256_max_pd(c3, c2);
        const __m256d x01 = _mm256_and_pd(g01, one);
        const __m256d x23 = _mm256_blendv_pd(two, three, g23);
        const __m256d g = _mm256_cmp_pd(m23, m01, _CMP_GT_OQ);
        const __m256d m = _mm256_max_pd(m23, m01);
        hmm_vit_store4(bp, t * 4, _mm256_blendv_pd(x01, x23, g), size);
        delta = _mm256_add_pd(m, _mm256_maskload_pd(HMM_VIT_FRAME(t), fmask));
    }
    _mm256_storeu_pd(work, delta);
    return hmm_vit_finish(work, log_endprob, bp, n_frames, n, 4, path, size);
}

/* One block of NV vectors (4 NV destination states from j0) of a step: running
 * maxima and their indices in registers over all sources. Sources with delta
 * -inf are not skipped (a branch per row costs more than it saves on dense
 * chains; their candidates are -inf and never win). With NV <= 2 the
 * sources are split in two halves with their own maxima, merged at the end
 * (the upper half wins only when strictly greater), to halve the latency chain. */
#define HMM_VIT_BLOCK(NV)                                                               \
HMM_VIT_TARGET void hmm_vit_block##NV(                                                  \
    const double *restrict delta, const double *restrict log_a, ptrdiff_t n,             \
    ptrdiff_t n_pad, ptrdiff_t j0, double *restrict out, void *restrict bp_row, int size) \
{                                                                                        \
    const __m256d ninf = _mm256_set1_pd(-INFINITY);                               \
    __m256d b[NV], x[NV], b2[NV], x2[NV];                                                \
    ptrdiff_t i, k;                                                                      \
    const ptrdiff_t half = (NV <= 2) ? n / 2 : n;                                        \
    for (k = 0; k < NV; k++) {                                                           \
        b[k] = ninf; x[k] = _mm256_setzero_pd();                                         \
        b2[k] = ninf; x2[k] = _mm256_set1_pd((double)half);                              \
    }                                                                                    \
    for (i = 0; i < half; i++) {                                                         \
        const double d = delta[i];                                                       \
        const double *restrict ai = log_a + j0 * n + i * (4 * NV);                       \
        const __m256d dv = _mm256_set1_pd(d), iv = _mm256_set1_pd((double)i);            \
        for (k = 0; k < NV; k++) {                                                       \
            const __m256d c = _mm256_add_pd(dv, _mm256_loadu_pd(ai + 4 * k));            \
            const __m256d gt = _mm256_cmp_pd(c, b[k], _CMP_GT_OQ);                       \
            b[k] = _mm256_max_pd(c, b[k]);                                               \
            x[k] = _mm256_blendv_pd(x[k], iv, gt);                                       \
        }                                                                                \
    }                                                                                    \
    if (NV <= 2) {                                                                       \
        for (i = half; i < n; i++) {                                                     \
            const double d = delta[i];                                                   \
            const double *restrict ai = log_a + j0 * n + i * (4 * NV);                   \
            const __m256d dv = _mm256_set1_pd(d), iv = _mm256_set1_pd((double)i);        \
            for (k = 0; k < NV; k++) {                                                   \
                const __m256d c = _mm256_add_pd(dv, _mm256_loadu_pd(ai + 4 * k));        \
                const __m256d gt = _mm256_cmp_pd(c, b2[k], _CMP_GT_OQ);                  \
                b2[k] = _mm256_max_pd(c, b2[k]);                                         \
                x2[k] = _mm256_blendv_pd(x2[k], iv, gt);                                 \
            }                                                                            \
        }                                                                                \
        for (k = 0; k < NV; k++) {                                                       \
            const __m256d gt = _mm256_cmp_pd(b2[k], b[k], _CMP_GT_OQ);                   \
            b[k] = _mm256_max_pd(b2[k], b[k]);                                           \
            x[k] = _mm256_blendv_pd(x[k], x2[k], gt);                                    \
        }                                                                                \
    }                                                                                    \
    for (k = 0; k < NV; k++) {                                                           \
        _mm256_storeu_pd(out + j0 + 4 * k, b[k]);                                        \
        hmm_vit_store4(bp_row, j0 + 4 * k, x[k], size);                                  \
    }                                                                                    \
}

HMM_VIT_BLOCK(1)
HMM_VIT_BLOCK(2)
HMM_VIT_BLOCK(3)
HMM_VIT_BLOCK(4)

HMM_VIT_TARGET double hmm_vit_avx2_blocked(
    const double *restrict log_frameprob, const int64_t *restrict index, ptrdiff_t n_frames,
    const double *restrict log_startprob, const double *restrict log_a,
    const double *restrict log_endprob, void *restrict bp,
    double *restrict work, int64_t *restrict path, ptrdiff_t n, int size)
{
    const ptrdiff_t n_pad = hmm_vit_padded(n);
    const ptrdiff_t j_tail = (n_pad / 16) * 16, tail_vectors = (n_pad - j_tail) / 4;
    const ptrdiff_t n_whole = n & ~(ptrdiff_t)3;
    const __m256i fmask = hmm_vit_mask(n - n_whole);
    double *delta = work, *next = work + n_pad, *tmp;
    const double *restrict first = HMM_VIT_FRAME(0);
    ptrdiff_t t, j;
    for (j = 0; j < n; j++)
        delta[j] = log_startprob[j] + first[j];
    for (; j < n_pad; j++)
        delta[j] = -INFINITY;
    for (t = 1; t < n_frames; t++) {
        const double *restrict frame = HMM_VIT_FRAME(t);
        char *bp_row = (char *)bp + t * n_pad * size;
        for (j = 0; j < j_tail; j += 16)
            hmm_vit_block4(delta, log_a, n, n_pad, j, next, bp_row, size);
        switch (tail_vectors) {
        case 1: hmm_vit_block1(delta, log_a, n, n_pad, j_tail, next, bp_row, size); break;
        case 2: hmm_vit_block2(delta, log_a, n, n_pad, j_tail, next, bp_row, size); break;
        case 3: hmm_vit_block3(delta, log_a, n, n_pad, j_tail, next, bp_row, size); break;
        default: break;
        }
        for (j = 0; j < n_whole; j += 4)
            _mm256_storeu_pd(next + j, _mm256_add_pd(_mm256_loadu_pd(next + j),
                                                     _mm256_loadu_pd(frame + j)));
        if (j < n_pad)   /* lanes >= n stay -inf + 0 */
            _mm256_storeu_pd(next + j, _mm256_add_pd(_mm256_loadu_pd(next + j),
                                                     _mm256_maskload_pd(frame + j, fmask)));
        tmp = delta;
        delta = next;
        next = tmp;
    }
    return hmm_vit_finish(delta, log_endprob, bp, n_frames, n, n_pad, path, size);
}

#define HMM_VIT_AVX2_ENTRY(NAME, SIZE)                                                   \
HMM_AVX2 HMM_NOINLINE double NAME(const double *log_frameprob, const int64_t *index,    \
                                  ptrdiff_t n_frames,                                    \
                                  const double *log_startprob, const double *log_a,      \
                                  const double *log_endprob, void *bp, double *work,     \
                                  int64_t *path, ptrdiff_t n)                            \
{                                                                                        \
    if (n <= 4)                                                                          \
        return hmm_vit_avx2_small(log_frameprob, index, n_frames, log_startprob, log_a,  \
                                  log_endprob, bp, work, path, n, SIZE);                 \
    return hmm_vit_avx2_blocked(log_frameprob, index, n_frames, log_startprob, log_a,    \
                                log_endprob, bp, work, path, n, SIZE);                   \
}

HMM_VIT_AVX2_ENTRY(hmm_vit_avx2_1, 1)
HMM_VIT_AVX2_ENTRY(hmm_vit_avx2_2, 2)
HMM_VIT_AVX2_ENTRY(hmm_vit_avx2_4, 4)
#endif  /* HMM_DISPATCH_AVX2 */

/* Scratch doubles hmm_viterbi_sequence needs: 3 n_pad. */
static inline ptrdiff_t hmm_viterbi_work_size(ptrdiff_t n) { return 3 * hmm_vit_padded(n); }

/* Viterbi of one sequence.
 *   log_frameprob (n_frames, n), or a (K, n) table whose row index[t] is frame
 *   t's (index (n_frames,) in [0, K), checked by the caller; NULL: dense);
 *   log_a (n, n_pad) padded with -inf; bp (n_frames, n_pad) scratch of
 *   bp_size-byte integers; work (3 n_pad,) scratch; path (n_frames,) output.
 *   simd: 0 runs the portable kernel whatever the CPU. */
static double hmm_viterbi_sequence(
    const double *log_frameprob, const int64_t *index, ptrdiff_t n_frames,
    const double *log_startprob, const double *log_a, const double *log_endprob, void *bp,
    int bp_size, double *work, int64_t *path, ptrdiff_t n, int simd)
{
#if HMM_DISPATCH_AVX2
    if (simd && hmm_cpu_avx2()) {
        if (bp_size == 1)
            return hmm_vit_avx2_1(log_frameprob, index, n_frames, log_startprob, log_a,
                                  log_endprob, bp, work, path, n);
        if (bp_size == 2)
            return hmm_vit_avx2_2(log_frameprob, index, n_frames, log_startprob, log_a,
                                  log_endprob, bp, work, path, n);
        return hmm_vit_avx2_4(log_frameprob, index, n_frames, log_startprob, log_a,
                              log_endprob, bp, work, path, n);
    }
#else
    (void)simd;
#endif
    if (bp_size == 1)
        return hmm_vit_portable(log_frameprob, index, n_frames, log_startprob, log_a,
                                log_endprob, bp, work, path, n, 1);
    if (bp_size == 2)
        return hmm_vit_portable(log_frameprob, index, n_frames, log_startprob, log_a,
                                log_endprob, bp, work, path, n, 2);
    return hmm_vit_portable(log_frameprob, index, n_frames, log_startprob, log_a,
                            log_endprob, bp, work, path, n, 4);
}

#endif  /* HMM_CORE_VITERBI_KERNELS_H */
