// dn-cuda-norm.cu: batch norm and layer norm on CUDA; the twin of dn-cpu-norm.c.
//
// Batch norm: one block per channel, statistics summed in double in a fixed tree, then the
// normalisation folded into y = a x + b with a and b computed in double and rounded once,
// as on the CPU. Layer norm: one block per row; its dgamma and dbeta sum over rows in row
// order, one thread per column, the CPU's order. Backward ops ADD into dx, dgamma, dbeta.
#include "dn-backend-cuda-private.h"

// x and y are (N, C, S): block ch normalises channel ch
__global__ void bn_train_kernel (int n, int c, int spatial, const float *x, const float *gamma,
                                 const float *beta, float eps, float momentum, float *running_mean,
                                 float *running_var, float *y, float *save_mean,
                                 float *save_invstd)
{
    __shared__ double sh[DN_CUDA_THREADS];
    const int ch = blockIdx.x;
    const size_t m = (size_t) n * spatial;
    const double count = (double) m;
#define BN_AT(e) (((e) / spatial * c + ch) * (size_t) spatial + (e) % spatial)
    double acc = 0.0;
    for (size_t e = threadIdx.x; e < m; e += blockDim.x)
        acc += x[BN_AT (e)];
    double mean = count > 0 ? dn_block_sum (acc, sh) / count : 0.0;
    acc = 0.0;
    for (size_t e = threadIdx.x; e < m; e += blockDim.x) {
        double d = x[BN_AT (e)] - mean;
        acc += d * d;
    }
    double ss = dn_block_sum (acc, sh);
    double var = count > 0 ? ss / count : 0.0;
    double invstd = 1.0 / sqrt (var + eps);
    if (threadIdx.x == 0) {
        if (save_mean != NULL)
            save_mean[ch] = (float) mean;
        if (save_invstd != NULL)
            save_invstd[ch] = (float) invstd;
        if (running_mean != NULL && running_var != NULL) {
            double unbiased = count > 1 ? ss / (count - 1) : var;
            running_mean[ch] = (float) ((1.0 - momentum) * running_mean[ch] + momentum * mean);
            running_var[ch] = (float) ((1.0 - momentum) * running_var[ch] + momentum * unbiased);
        }
    }
    double a = (gamma != NULL ? gamma[ch] : 1.0) * invstd;
    double bb = (beta != NULL ? beta[ch] : 0.0) - mean * a;
    const float fa = (float) a, fb = (float) bb;
    for (size_t e = threadIdx.x; e < m; e += blockDim.x)
        y[BN_AT (e)] = fa * x[BN_AT (e)] + fb;
}

__global__ void bn_eval_kernel (size_t total, int c, int spatial, const float *x,
                                const float *gamma, const float *beta, float eps,
                                const float *running_mean, const float *running_var, float *y)
{
    DN_CUDA_LOOP (i, total)
    {
        int ch = (int) ((i / spatial) % c);
        double invstd = 1.0 / sqrt ((double) running_var[ch] + eps);
        double a = (gamma != NULL ? gamma[ch] : 1.0) * invstd;
        double bb = (beta != NULL ? beta[ch] : 0.0) - running_mean[ch] * a;
        y[i] = (float) a * x[i] + (float) bb;
    }
}

__global__ void bn_backward_kernel (int n, int c, int spatial, const float *x, const float *dy,
                                    const float *gamma, const float *save_mean,
                                    const float *save_invstd, float *dx, float *dgamma,
                                    float *dbeta)
{
    __shared__ double sh[DN_CUDA_THREADS];
    const int ch = blockIdx.x;
    const size_t m = (size_t) n * spatial;
    const double count = (double) m;
    const double mean = save_mean[ch], invstd = save_invstd[ch];
    double a0 = 0.0, b0 = 0.0;
    for (size_t e = threadIdx.x; e < m; e += blockDim.x) {
        size_t o = BN_AT (e);
        a0 += dy[o];
        b0 += dy[o] * (x[o] - mean);
    }
    double s_dy = dn_block_sum (a0, sh), s_dyx = dn_block_sum (b0, sh);
    if (threadIdx.x == 0) {
        if (dbeta != NULL)
            dbeta[ch] += (float) s_dy;
        if (dgamma != NULL)
            dgamma[ch] += (float) (s_dyx * invstd);
    }
    if (dx == NULL || count <= 0)
        return;
    const double a = (gamma != NULL ? gamma[ch] : 1.0) * invstd;
    const float fa = (float) a, fmean = (float) mean;
    const float fk = (float) (-a * invstd * invstd * s_dyx / count);
    const float fm = (float) (-a * s_dy / count);
    for (size_t e = threadIdx.x; e < m; e += blockDim.x) {
        size_t o = BN_AT (e);
        dx[o] += fa * dy[o] + fk * (x[o] - fmean) + fm;
    }
#undef BN_AT
}

extern "C" void dn_cuda_batchnorm_forward_train (DnBackend *be, int n, int c, int spatial,
                                                 const float *x, const float *gamma,
                                                 const float *beta, float eps, float momentum,
                                                 float *running_mean, float *running_var, float *y,
                                                 float *save_mean, float *save_invstd)
{
    if (c == 0)
        return;
    bn_train_kernel<<<c, DN_CUDA_THREADS>>> (n, c, spatial, x, gamma, beta, eps, momentum,
                                             running_mean, running_var, y, save_mean, save_invstd);
    DN_CUDA_LAUNCHED ("batchnorm_forward_train");
}

extern "C" void dn_cuda_batchnorm_forward_eval (DnBackend *be, int n, int c, int spatial,
                                                const float *x, const float *gamma,
                                                const float *beta, float eps,
                                                const float *running_mean,
                                                const float *running_var, float *y)
{
    size_t total = (size_t) n * c * spatial;
    if (total == 0)
        return;
    bn_eval_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (total, c, spatial, x, gamma, beta,
                                                                 eps, running_mean, running_var, y);
    DN_CUDA_LAUNCHED ("batchnorm_forward_eval");
}

extern "C" void dn_cuda_batchnorm_backward (DnBackend *be, int n, int c, int spatial,
                                            const float *x, const float *dy, const float *gamma,
                                            const float *save_mean, const float *save_invstd,
                                            float *dx, float *dgamma, float *dbeta)
{
    if (c == 0)
        return;
    bn_backward_kernel<<<c, DN_CUDA_THREADS>>> (n, c, spatial, x, dy, gamma, save_mean,
                                                save_invstd, dx, dgamma, dbeta);
    DN_CUDA_LAUNCHED ("batchnorm_backward");
}

/* ---- layer norm ---- */

__global__ void ln_forward_kernel (int cols, const float *x, const float *gamma, const float *beta,
                                   float eps, float *y, float *save_mean, float *save_invstd)
{
    __shared__ double sh[DN_CUDA_THREADS];
    const size_t o = (size_t) blockIdx.x * cols;
    double acc = 0.0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x)
        acc += x[o + j];
    double mean = cols > 0 ? dn_block_sum (acc, sh) / cols : 0.0;
    acc = 0.0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        double d = x[o + j] - mean;
        acc += d * d;
    }
    double var = cols > 0 ? dn_block_sum (acc, sh) / cols : 0.0;
    double invstd = 1.0 / sqrt (var + eps);
    if (threadIdx.x == 0) {
        if (save_mean != NULL)
            save_mean[blockIdx.x] = (float) mean;
        if (save_invstd != NULL)
            save_invstd[blockIdx.x] = (float) invstd;
    }
    const float fm = (float) mean, fi = (float) invstd;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        float v = (x[o + j] - fm) * fi;
        if (gamma != NULL)
            v *= gamma[j];
        if (beta != NULL && gamma != NULL)
            v += beta[j];
        y[o + j] = v;
    }
}

__global__ void ln_backward_rows_kernel (int cols, const float *x, const float *dy,
                                         const float *gamma, const float *save_mean,
                                         const float *save_invstd, float *dx)
{
    __shared__ double sh[DN_CUDA_THREADS];
    const size_t o = (size_t) blockIdx.x * cols;
    const float fm = save_mean[blockIdx.x], fi = save_invstd[blockIdx.x];
    double a = 0.0, b = 0.0;
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        float g = gamma != NULL ? dy[o + j] * gamma[j] : dy[o + j];
        a += g;
        b += g * (x[o + j] - fm);
    }
    double s_g = dn_block_sum (a, sh), s_gx = dn_block_sum (b, sh);
    const float mg = (float) (s_g / cols);
    const float kx = (float) (-(double) fi * fi * fi * s_gx / cols);
    for (int j = threadIdx.x; j < cols; j += blockDim.x) {
        float g = gamma != NULL ? dy[o + j] * gamma[j] : dy[o + j];
        dx[o + j] += fi * (g - mg) + kx * (x[o + j] - fm);
    }
}

// dgamma[j] += sum over rows (in order) of dy xhat; dbeta[j] += sum of dy
__global__ void ln_backward_cols_kernel (int rows, int cols, const float *x, const float *dy,
                                         const float *save_mean, const float *save_invstd,
                                         float *dgamma, float *dbeta)
{
    DN_CUDA_LOOP (j, (size_t) cols)
    {
        float g = dgamma != NULL ? dgamma[j] : 0.0f, b = dbeta != NULL ? dbeta[j] : 0.0f;
        for (int r = 0; r < rows; r++) {
            size_t o = (size_t) r * cols + j;
            g += dy[o] * (x[o] - save_mean[r]) * save_invstd[r];
            b += dy[o];
        }
        if (dgamma != NULL)
            dgamma[j] = g;
        if (dbeta != NULL)
            dbeta[j] = b;
    }
}

extern "C" void dn_cuda_layernorm_forward (DnBackend *be, int rows, int cols, const float *x,
                                           const float *gamma, const float *beta, float eps,
                                           float *y, float *save_mean, float *save_invstd)
{
    if (rows == 0)
        return;
    ln_forward_kernel<<<rows, DN_CUDA_THREADS>>> (cols, x, gamma, beta, eps, y, save_mean,
                                                  save_invstd);
    DN_CUDA_LAUNCHED ("layernorm_forward");
}

extern "C" void dn_cuda_layernorm_backward (DnBackend *be, int rows, int cols, const float *x,
                                            const float *dy, const float *gamma,
                                            const float *save_mean, const float *save_invstd,
                                            float *dx, float *dgamma, float *dbeta)
{
    if (rows == 0 || cols == 0)
        return;
    if (dgamma != NULL || dbeta != NULL) {
        ln_backward_cols_kernel<<<dn_cuda_blocks (cols), DN_CUDA_THREADS>>> (
            rows, cols, x, dy, save_mean, save_invstd, dgamma, dbeta);
        DN_CUDA_LAUNCHED ("layernorm_backward");
    }
    if (dx != NULL) {
        ln_backward_rows_kernel<<<rows, DN_CUDA_THREADS>>> (cols, x, dy, gamma, save_mean,
                                                            save_invstd, dx);
        DN_CUDA_LAUNCHED ("layernorm_backward");
    }
}
