// dn-cuda-optim.cu: the fused optimizer updates on CUDA, PyTorch's rules; the twin of
// dn-cpu-optim.c. One thread per parameter does the whole update (state and weight) in
// float, with the per-step scalars computed on the host in double and rounded once, the
// CPU's arithmetic operation for operation (nvcc's --fmad=false keeps a * b + c rounded
// twice, as the CPU's baseline build does). Unused state buffers may be NULL.
#include "dn-backend-cuda-private.h"

__global__ void sgd_kernel (size_t n, float *w, const float *g, float *buf, float lr, float mom,
                            float keep, int nesterov, float wd, int first)
{
    DN_CUDA_LOOP (i, n)
    {
        float d = g[i] + wd * w[i];
        if (buf == NULL) {
            w[i] -= lr * d;
            continue;
        }
        float b = first ? d : buf[i] * mom + keep * d;
        buf[i] = b;
        w[i] -= lr * (nesterov ? d + mom * b : b);
    }
}

extern "C" void dn_cuda_sgd_update (DnBackend *be, size_t n, float *w, const float *g,
                                    float *momentum_buf, float lr, float momentum, float dampening,
                                    gboolean nesterov, float weight_decay, gboolean first_step)
{
    if (n == 0)
        return;
    const float keep = (float) (1.0 - (double) dampening);
    sgd_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (
        n, w, g, momentum == 0.0f ? NULL : momentum_buf, lr, momentum, keep, nesterov,
        weight_decay, first_step);
    DN_CUDA_LAUNCHED ("sgd_update");
}

__global__ void adam_kernel (size_t n, float *w, const float *g, float *m, float *v, float *vmax,
                             float b1, float b2, float c1, float c2, float eps, float wd,
                             float shrink, float step_size, float bias2_sqrt)
{
    DN_CUDA_LOOP (i, n)
    {
        float gi = g[i] + wd * w[i];
        float mi = m[i] * b1 + c1 * gi;
        float vi = v[i] * b2 + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        if (vmax != NULL) {
            vi = vmax[i] > vi ? vmax[i] : vi;
            vmax[i] = vi;
        }
        float denom = sqrtf (vi) / bias2_sqrt + eps;
        w[i] = w[i] * shrink - step_size * (mi / denom);
    }
}

extern "C" void dn_cuda_adam_update (DnBackend *be, size_t n, float *w, const float *g, float *m,
                                     float *v, float *vmax, float lr, float beta1, float beta2,
                                     float eps, float weight_decay, gboolean decoupled,
                                     gboolean amsgrad, int64_t step)
{
    if (n == 0)
        return;
    const double t = (double) (step < 1 ? 1 : step);
    const double bias1 = 1.0 - pow ((double) beta1, t);
    const double bias2 = 1.0 - pow ((double) beta2, t);
    const float step_size = (float) ((double) lr / bias1);
    const float bias2_sqrt = (float) sqrt (bias2);
    const float c1 = (float) (1.0 - (double) beta1), c2 = (float) (1.0 - (double) beta2);
    const float wd = decoupled ? 0.0f : weight_decay;
    const float shrink = decoupled ? (float) (1.0 - (double) lr * (double) weight_decay) : 1.0f;
    adam_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, w, g, m, v, amsgrad ? vmax : NULL,
                                                          beta1, beta2, c1, c2, eps, wd, shrink,
                                                          step_size, bias2_sqrt);
    DN_CUDA_LAUNCHED ("adam_update");
}

__global__ void adadelta_kernel (size_t n, float *w, const float *g, float *sq, float *acc,
                                 float lr, float rho, float c, float eps, float wd)
{
    DN_CUDA_LOOP (i, n)
    {
        float gi = g[i] + wd * w[i];
        float s = sq[i] * rho + c * gi * gi;
        float std = sqrtf (s + eps);
        float delta = sqrtf (acc[i] + eps) / std * gi;
        sq[i] = s;
        acc[i] = acc[i] * rho + c * delta * delta;
        w[i] -= lr * delta;
    }
}

extern "C" void dn_cuda_adadelta_update (DnBackend *be, size_t n, float *w, const float *g,
                                         float *sq_avg, float *acc_delta, float lr, float rho,
                                         float eps, float weight_decay)
{
    if (n == 0)
        return;
    adadelta_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (
        n, w, g, sq_avg, acc_delta, lr, rho, (float) (1.0 - (double) rho), eps, weight_decay);
    DN_CUDA_LAUNCHED ("adadelta_update");
}

__global__ void rmsprop_kernel (size_t n, float *w, const float *g, float *sq, float *ga,
                                float *buf, float lr, float alpha, float c, float eps, float wd,
                                float mom)
{
    DN_CUDA_LOOP (i, n)
    {
        float gi = g[i] + wd * w[i];
        float s = sq[i] * alpha + c * gi * gi;
        sq[i] = s;
        float avg;
        if (ga != NULL) {
            float a = ga[i] * alpha + c * gi;
            ga[i] = a;
            avg = sqrtf (s - a * a) + eps;
        } else {
            avg = sqrtf (s) + eps;
        }
        if (buf != NULL) {
            float b = buf[i] * mom + gi / avg;
            buf[i] = b;
            w[i] -= lr * b;
        } else {
            w[i] -= lr * (gi / avg);
        }
    }
}

extern "C" void dn_cuda_rmsprop_update (DnBackend *be, size_t n, float *w, const float *g,
                                        float *sq_avg, float *grad_avg, float *momentum_buf,
                                        float lr, float alpha, float eps, float weight_decay,
                                        float momentum, gboolean centered)
{
    if (n == 0)
        return;
    rmsprop_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (
        n, w, g, sq_avg, centered ? grad_avg : NULL, momentum > 0.0f ? momentum_buf : NULL, lr,
        alpha, (float) (1.0 - (double) alpha), eps, weight_decay, momentum);
    DN_CUDA_LAUNCHED ("rmsprop_update");
}
