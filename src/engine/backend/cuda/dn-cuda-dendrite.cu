// dn-cuda-dendrite.cu: the dendrite combination on CUDA (the maths is in
// dn-layer-dendritic.c); the twin of dn-cpu-dendrite.c.
//
// Forward: one thread per element (sample, channel, position) runs the whole cascade for
// it (every dendrite's s and the combined output) in registers; a fused ReLU is applied in
// the same thread, a fused max pooling by a second kernel over the module output, which
// then lives in the backend's scratch. Backward: one thread per element runs the chain rule
// down the cascade, writing dr (the gradients of the k + 1 module outputs); a second kernel
// sums the weight gradients per (weight row, channel) in one block each, over (sample,
// position) in a fixed tree: no atomics, the same numbers every run.
#include "dn-backend-cuda-private.h"

/* The most dendrites per module the kernels keep in registers (the layers allow fewer). */
#define MAX_K 16

/* Row of D2D[i][j] in the packed weights (T's k rows come first). */
__device__ inline size_t cascade_row (int k, int i, int j)
{
    return (size_t) k + (size_t) i * (i - 1) / 2 + j;
}

// r: k + 1 slots with strides ld_slot, ld_sample; s (k, n, c, S); out (n, c, S)
__global__ void combine_forward_kernel (DnAct act, int k, int n, int c, int S, const float *w,
                                        const float *r, size_t ld_slot, size_t ld_sample, int relu,
                                        float *s, float *out)
{
    const size_t numel = (size_t) c * S, total = (size_t) n * numel;
    DN_CUDA_LOOP (e, total)
    {
        size_t b = e / numel, q = e % numel;
        int ch = (int) (q / S);
        const float *rp = r + b * ld_sample + q;
        float a[MAX_K];
        float o = rp[0];
        for (int i = 0; i < k; i++) {
            float v = rp[(size_t) (i + 1) * ld_slot];
            for (int m = 0; m < i; m++)
                v += w[cascade_row (k, i, m) * c + ch] * a[m];
            v = dn_act_value (act, 0.0f, v);
            a[i] = v;
            s[(size_t) i * total + e] = v;
            o += w[(size_t) i * c + ch] * v;
        }
        if (relu)
            o = o > 0.0f ? o : 0.0f;
        out[e] = o;
    }
}

extern "C" void dn_cuda_dendrite_forward (DnBackend *be, DnAct act, int k, int n, int c,
                                          int spatial, const float *w, const float *r,
                                          size_t ld_slot, size_t ld_sample, const DnConvFusion *f,
                                          float *s, float *out)
{
    const size_t total = (size_t) n * c * spatial;
    if (total == 0)
        return;
    if (k > MAX_K) {
        dn_cuda_note (cudaErrorInvalidValue, "dendrite_forward: more than 16 dendrites");
        return;
    }
    const DnConvGeom *pool = f != NULL ? f->pool : NULL;
    float *full = out;
    if (pool != NULL && (full = (float *) dn_cuda_scratch (total * sizeof (float))) == NULL)
        return;
    combine_forward_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (
        act, k, n, c, spatial, w, r, ld_slot, ld_sample, f != NULL && f->relu, s, full);
    DN_CUDA_LAUNCHED ("dendrite_forward");
    if (pool != NULL) {
        dn_cuda_maxpool2d_forward (be, pool, n, full, out, f->argmax);
    }
}

// one thread per element: g = the gradient at the module output (through a fused pooling
// and ReLU), dr slot 0 = g, slot i + 1 = d(loss)/d(dendrite i's input)
__global__ void combine_backward_kernel (DnAct act, int k, int n, int c, int S, const float *w,
                                         const float *s, int pooled, DnConvGeom pg, int relu,
                                         const float *out, const float *dout,
                                         const int32_t *argmax, float *dr, size_t ld_slot,
                                         size_t ld_sample)
{
    const size_t numel = (size_t) c * S, total = (size_t) n * numel;
    DN_CUDA_LOOP (e, total)
    {
        size_t b = e / numel, q = e % numel;
        int ch = (int) (q / S), p = (int) (q % S);
        float g;
        if (pooled) {
            size_t Q = (size_t) pg.oh * pg.ow, o = ((size_t) b * c + ch) * Q;
            g = dn_maxpool_gather (&pg, dout + o, argmax + o, relu ? out + o : NULL, p / pg.w,
                                   p % pg.w);
        } else if (relu) {
            g = out[e] > 0.0f ? dout[e] : 0.0f;
        } else {
            g = dout[e];
        }
        float *dp = dr + b * ld_sample + q;
        dp[0] = g;
        float da[MAX_K];
        for (int i = k - 1; i >= 0; i--) {
            float ds = w[(size_t) i * c + ch] * g;
            for (int m = i + 1; m < k; m++)
                ds += w[cascade_row (k, m, i) * c + ch] * da[m];
            float si = s[(size_t) i * total + e];
            float d = dn_act_grad (act, 0.0f, si, si, ds);
            da[i] = d;
            dp[(size_t) (i + 1) * ld_slot] = d;
        }
    }
}

// block (row, channel) of the packed weight gradient: row i < k is T[i] (g * s_i), row
// cascade_row (k, i, m) is D2D[i][m] (da_i * s_m); summed over (sample, position)
__global__ void combine_dw_kernel (int k, int n, int c, int S, const float *s, const float *dr,
                                   size_t ld_slot, size_t ld_sample, float *dw)
{
    __shared__ float sh[DN_CUDA_THREADS];
    const int row = blockIdx.y, ch = blockIdx.x;
    int i = row, m = -1; /* T[i], or D2D[i][m] */
    if (row >= k) {
        int t = row - k;
        i = 1;
        while (t >= i) {
            t -= i;
            i++;
        }
        m = t;
    }
    const size_t numel = (size_t) c * S, total = (size_t) n * numel, cnt = (size_t) n * S;
    float acc = 0.0f;
    for (size_t j = threadIdx.x; j < cnt; j += blockDim.x) {
        size_t b = j / S, p = j % S;
        size_t q = (size_t) ch * S + p, e = b * numel + q;
        const float *dp = dr + b * ld_sample + q;
        if (m < 0)
            acc += dp[0] * s[(size_t) i * total + e];
        else
            acc += dp[(size_t) (i + 1) * ld_slot] * s[(size_t) m * total + e];
    }
    float sum = dn_block_sum (acc, sh);
    if (threadIdx.x == 0)
        dw[(size_t) row * c + ch] += sum;
}

extern "C" void dn_cuda_dendrite_backward (DnBackend *be, DnAct act, int k, int n, int c,
                                           int spatial, const float *w, const float *s,
                                           const DnConvFusion *f, const float *out,
                                           const float *dout, float *dr, size_t ld_slot,
                                           size_t ld_sample, float *dw)
{
    const size_t total = (size_t) n * c * spatial;
    if (total == 0)
        return;
    if (k > MAX_K) {
        dn_cuda_note (cudaErrorInvalidValue, "dendrite_backward: more than 16 dendrites");
        return;
    }
    const DnConvGeom *pool = f != NULL ? f->pool : NULL;
    const DnConvGeom none = {0};
    combine_backward_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (
        act, k, n, c, spatial, w, s, pool != NULL, pool != NULL ? *pool : none,
        f != NULL && f->relu, out, dout, pool != NULL ? f->argmax : NULL, dr, ld_slot, ld_sample);
    DN_CUDA_LAUNCHED ("dendrite_backward");
    dim3 grid ((unsigned int) c, (unsigned int) (k + k * (k - 1) / 2));
    combine_dw_kernel<<<grid, DN_CUDA_THREADS>>> (k, n, c, spatial, s, dr, ld_slot, ld_sample, dw);
    DN_CUDA_LAUNCHED ("dendrite_backward weights");
}
