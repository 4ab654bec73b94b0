// dn-cuda-loss.cu: losses and accuracy counting on CUDA; the twin of dn-cpu-loss.c.
//
// One thread per row (or element) writes its loss term in double into scratch and its
// gradient; the terms are then added in a fixed order (dn_cuda_sum_doubles) and the mean
// comes back to the host, which waits for it. Labels outside [0, cols) are ignored, as on
// the CPU.
#include "dn-backend-cuda-private.h"

__device__ inline int label_ok (int32_t label, int cols)
{
    return label >= 0 && label < cols;
}

/* Rows with a valid label, counted on the device into *valid (one block). */
__global__ void count_valid_kernel (int rows, int cols, const int32_t *labels, int *valid)
{
    __shared__ int sh[DN_CUDA_THREADS];
    int acc = 0;
    for (int r = threadIdx.x; r < rows; r += blockDim.x)
        acc += label_ok (labels[r], cols);
    int s = dn_block_sum (acc, sh);
    if (threadIdx.x == 0)
        *valid = s;
}

__global__ void cross_entropy_kernel (int rows, int cols, const float *logits,
                                      const int32_t *labels, float eps_f, float scale,
                                      const int *valid, double *terms, float *dlogits)
{
    DN_CUDA_LOOP (rr, (size_t) rows)
    {
        const int r = (int) rr;
        const float *x = logits + (size_t) r * cols;
        float *d = dlogits != NULL ? dlogits + (size_t) r * cols : NULL;
        if (!label_ok (labels[r], cols)) {
            terms[r] = 0.0;
            if (d != NULL)
                for (int j = 0; j < cols; j++)
                    d[j] = 0.0f;
            continue;
        }
        const double eps = eps_f;
        float m = -INFINITY;
        for (int j = 0; j < cols; j++)
            m = x[j] > m ? x[j] : m;
        double s = 0.0, sum_x = 0.0;
        for (int j = 0; j < cols; j++) {
            s += expf (x[j] - m);
            sum_x += x[j];
        }
        const double lse = m + log (s);
        terms[r] = (1.0 - eps) * (lse - x[labels[r]]) + eps * (lse - sum_x / cols);
        if (d == NULL)
            continue;
        const float g_scale = *valid > 0 ? scale / (float) *valid : 0.0f;
        const float smooth = (float) (eps / cols);
        const float inv_s = (float) (1.0 / s);
        for (int j = 0; j < cols; j++)
            d[j] = (expf (x[j] - m) * inv_s - smooth) * g_scale;
        d[labels[r]] -= (float) (1.0 - eps) * g_scale;
    }
}

/* Scratch for the per-row terms and the valid count. */
static double *loss_scratch (size_t n, int **valid)
{
    double *t = (double *) dn_cuda_scratch2 ((n + 1) * sizeof (double));
    if (t != NULL)
        *valid = (int *) (t + n);
    return t;
}

static int download_int (DnBackend *be, const int *d)
{
    int v = 0;
    dn_cuda_download (be, &v, d, sizeof v);
    return v;
}

extern "C" void dn_cuda_cross_entropy (DnBackend *be, int rows, int cols, const float *logits,
                                       const int32_t *labels, float label_smoothing, float scale,
                                       double *loss, float *dlogits)
{
    *loss = 0.0;
    int *valid;
    double *terms;
    if (rows == 0 || (terms = loss_scratch (rows, &valid)) == NULL)
        return;
    count_valid_kernel<<<1, DN_CUDA_THREADS>>> (rows, cols, labels, valid);
    cross_entropy_kernel<<<dn_cuda_blocks (rows), DN_CUDA_THREADS>>> (
        rows, cols, logits, labels, label_smoothing, scale, valid, terms, dlogits);
    DN_CUDA_LAUNCHED ("cross_entropy");
    double total = dn_cuda_sum_doubles (terms, rows);
    int v = download_int (be, valid);
    *loss = v > 0 ? total / v : 0.0;
}

__global__ void nll_kernel (int rows, int cols, const float *logp, const int32_t *labels,
                            float scale, const int *valid, double *terms, float *dlogp)
{
    DN_CUDA_LOOP (rr, (size_t) rows)
    {
        const int r = (int) rr;
        if (dlogp != NULL)
            for (int j = 0; j < cols; j++)
                dlogp[(size_t) r * cols + j] = 0.0f;
        terms[r] = 0.0;
        if (!label_ok (labels[r], cols))
            continue;
        terms[r] = -(double) logp[(size_t) r * cols + labels[r]];
        if (dlogp != NULL)
            dlogp[(size_t) r * cols + labels[r]] = -scale / (float) *valid;
    }
}

extern "C" void dn_cuda_nll (DnBackend *be, int rows, int cols, const float *logp,
                             const int32_t *labels, float scale, double *loss, float *dlogp)
{
    *loss = 0.0;
    int *valid;
    double *terms;
    if (rows == 0 || (terms = loss_scratch (rows, &valid)) == NULL)
        return;
    count_valid_kernel<<<1, DN_CUDA_THREADS>>> (rows, cols, labels, valid);
    nll_kernel<<<dn_cuda_blocks (rows), DN_CUDA_THREADS>>> (rows, cols, logp, labels, scale, valid,
                                                            terms, dlogp);
    DN_CUDA_LAUNCHED ("nll");
    double total = dn_cuda_sum_doubles (terms, rows);
    int v = download_int (be, valid);
    *loss = v > 0 ? total / v : 0.0;
}

__global__ void mse_kernel (size_t n, const float *pred, const float *target, float g,
                            double *terms, float *dpred)
{
    DN_CUDA_LOOP (i, n)
    {
        double e = (double) pred[i] - target[i];
        terms[i] = e * e;
        if (dpred != NULL)
            dpred[i] = g * (pred[i] - target[i]);
    }
}

extern "C" void dn_cuda_mse (DnBackend *be, int rows, int cols, const float *pred,
                             const float *target, float scale, double *loss, float *dpred)
{
    const size_t n = (size_t) rows * cols;
    *loss = 0.0;
    int *valid;
    double *terms;
    if (n == 0 || (terms = loss_scratch (n, &valid)) == NULL)
        return;
    mse_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, pred, target,
                                                         2.0f * scale / (float) n, terms, dpred);
    DN_CUDA_LAUNCHED ("mse");
    *loss = dn_cuda_sum_doubles (terms, n) / n;
}

__global__ void bce_kernel (size_t n, const float *logits, const float *target, float g,
                            double *terms, float *dlogits)
{
    DN_CUDA_LOOP (i, n)
    {
        float x = logits[i];
        terms[i] = (x > 0.0f ? x : 0.0f) - x * target[i] + log1pf (expf (-fabsf (x)));
        if (dlogits != NULL)
            dlogits[i] = g * (1.0f / (1.0f + expf (-x)) - target[i]);
    }
}

extern "C" void dn_cuda_bce_logits (DnBackend *be, int rows, int cols, const float *logits,
                                    const float *target, float scale, double *loss,
                                    float *dlogits)
{
    const size_t n = (size_t) rows * cols;
    *loss = 0.0;
    int *valid;
    double *terms;
    if (n == 0 || (terms = loss_scratch (n, &valid)) == NULL)
        return;
    bce_kernel<<<dn_cuda_blocks (n), DN_CUDA_THREADS>>> (n, logits, target, scale / (float) n,
                                                         terms, dlogits);
    DN_CUDA_LAUNCHED ("bce_logits");
    *loss = dn_cuda_sum_doubles (terms, n) / n;
}

__global__ void one_hot_kernel (int rows, int cols, const int32_t *labels, float *targets)
{
    const size_t total = (size_t) rows * cols;
    DN_CUDA_LOOP (i, total)
    {
        int r = (int) (i / cols), j = (int) (i % cols);
        targets[i] = labels[r] == j ? 1.0f : 0.0f;
    }
}

extern "C" void dn_cuda_one_hot (DnBackend *be, int rows, int cols, const int32_t *labels,
                                 float *targets)
{
    size_t total = (size_t) rows * cols;
    if (total == 0)
        return;
    one_hot_kernel<<<dn_cuda_blocks (total), DN_CUDA_THREADS>>> (rows, cols, labels, targets);
    DN_CUDA_LAUNCHED ("one_hot");
}

// terms[r] = 1 when row r's first largest logit is at its label
__global__ void correct_kernel (int rows, int cols, const float *logits, const int32_t *labels,
                                double *terms)
{
    DN_CUDA_LOOP (rr, (size_t) rows)
    {
        const float *x = logits + rr * cols;
        int best = 0;
        for (int j = 1; j < cols; j++)
            if (x[j] > x[best])
                best = j;
        terms[rr] = cols > 0 && best == labels[rr] ? 1.0 : 0.0;
    }
}

extern "C" int dn_cuda_count_correct (DnBackend *be, int rows, int cols, const float *logits,
                                      const int32_t *labels)
{
    int *valid;
    double *terms;
    if (rows == 0 || (terms = loss_scratch (rows, &valid)) == NULL)
        return 0;
    correct_kernel<<<dn_cuda_blocks (rows), DN_CUDA_THREADS>>> (rows, cols, logits, labels, terms);
    DN_CUDA_LAUNCHED ("count_correct");
    return (int) dn_cuda_sum_doubles (terms, rows);
}
