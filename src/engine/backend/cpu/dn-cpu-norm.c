/* dn-cpu-norm.c: batch norm and layer norm on the CPU.
 *
 * Statistics are accumulated in double over eight independent lanes, which
 * keeps them accurate for large batches and still lets the compiler use
 * vector registers. The normalisation itself is folded into y = a * x + b
 * per channel (or per row), a loop that vectorises. Backward ops ADD into
 * dx, dgamma and dbeta.
 */
#include "dn-backend-cpu-private.h"

#include <math.h>

#define LANES 8

static double sum_f (const float *restrict x, size_t n)
{
    double acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] += x[i + k];
    for (; i < n; i++)
        acc[0] += x[i];
    double s = 0.0;
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

/* Sum of (x - mean)^2. */
static double sum_sq_dev (const float *restrict x, size_t n, double mean)
{
    double acc[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            double d = x[i + k] - mean;
            acc[k] += d * d;
        }
    for (; i < n; i++) {
        double d = x[i] - mean;
        acc[0] += d * d;
    }
    double s = 0.0;
    for (int k = 0; k < LANES; k++)
        s += acc[k];
    return s;
}

/* Sums of dy and of dy * (x - mean), added to *s_dy and *s_dyx. */
static void sum_dy_dyx (const float *restrict x, const float *restrict dy, size_t n, double mean,
                        double *s_dy, double *s_dyx)
{
    double a[LANES] = {0}, b[LANES] = {0};
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) {
            a[k] += dy[i + k];
            b[k] += dy[i + k] * (x[i + k] - mean);
        }
    for (; i < n; i++) {
        a[0] += dy[i];
        b[0] += dy[i] * (x[i] - mean);
    }
    for (int k = 0; k < LANES; k++) {
        *s_dy += a[k];
        *s_dyx += b[k];
    }
}

// y = a * x + b over n elements
static void affine (const float *restrict x, size_t n, float a, float b, float *restrict y)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a * x[i] + b;
}

/* ---- batch norm ---- */

// x and y are (N, C, S); gamma, beta, running stats and saved stats are (C)
void dn_cpu_batchnorm_forward_train (DnBackend *be, int n, int c, int spatial, const float *x,
                                     const float *gamma, const float *beta, float eps,
                                     float momentum, float *running_mean, float *running_var,
                                     float *y, float *save_mean, float *save_invstd)
{
    const size_t plane = (size_t) spatial, stride = (size_t) c * spatial;
    const double count = (double) n * spatial;
    for (int ch = 0; ch < c; ch++) {
        const float *xc = x + (size_t) ch * plane;
        double s = 0.0;
        for (int b = 0; b < n; b++)
            s += sum_f (xc + b * stride, plane);
        double mean = count > 0 ? s / count : 0.0;
        double ss = 0.0;
        for (int b = 0; b < n; b++)
            ss += sum_sq_dev (xc + b * stride, plane, mean);
        double var = count > 0 ? ss / count : 0.0;
        double invstd = 1.0 / sqrt (var + eps);
        if (save_mean != NULL)
            save_mean[ch] = (float) mean;
        if (save_invstd != NULL)
            save_invstd[ch] = (float) invstd;
        if (running_mean != NULL && running_var != NULL) {
            /* PyTorch updates with the unbiased variance; one value has none. */
            double unbiased = count > 1 ? ss / (count - 1) : var;
            running_mean[ch] = (float) ((1.0 - momentum) * running_mean[ch] + momentum * mean);
            running_var[ch] = (float) ((1.0 - momentum) * running_var[ch] + momentum * unbiased);
        }
        double g = gamma != NULL ? gamma[ch] : 1.0;
        double a = g * invstd;
        double bb = (beta != NULL ? beta[ch] : 0.0) - mean * a;
        for (int b = 0; b < n; b++)
            affine (xc + b * stride, plane, (float) a, (float) bb, y + ch * plane + b * stride);
    }
}

// x and y are (N, C, S); normalised with the running statistics
void dn_cpu_batchnorm_forward_eval (DnBackend *be, int n, int c, int spatial, const float *x,
                                    const float *gamma, const float *beta, float eps,
                                    const float *running_mean, const float *running_var, float *y)
{
    const size_t plane = (size_t) spatial, stride = (size_t) c * spatial;
    for (int ch = 0; ch < c; ch++) {
        double invstd = 1.0 / sqrt ((double) running_var[ch] + eps);
        double a = (gamma != NULL ? gamma[ch] : 1.0) * invstd;
        double bb = (beta != NULL ? beta[ch] : 0.0) - running_mean[ch] * a;
        for (int b = 0; b < n; b++)
            affine (x + ch * plane + b * stride, plane, (float) a, (float) bb,
                    y + ch * plane + b * stride);
    }
}

// x, dy and dx are (N, C, S); with xhat = (x - mean) * invstd over the batch statistics:
// dbeta += sum dy, dgamma += sum dy xhat,
// dx += gamma invstd (dy - mean(dy) - xhat mean(dy xhat))
void dn_cpu_batchnorm_backward (DnBackend *be, int n, int c, int spatial, const float *x,
                                const float *dy, const float *gamma, const float *save_mean,
                                const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    const size_t plane = (size_t) spatial, stride = (size_t) c * spatial;
    const double count = (double) n * spatial;
    for (int ch = 0; ch < c; ch++) {
        const size_t off = (size_t) ch * plane;
        const double mean = save_mean[ch], invstd = save_invstd[ch];
        double s_dy = 0.0, s_dyx = 0.0;
        for (int b = 0; b < n; b++)
            sum_dy_dyx (x + off + b * stride, dy + off + b * stride, plane, mean, &s_dy, &s_dyx);
        if (dbeta != NULL)
            dbeta[ch] += (float) s_dy;
        if (dgamma != NULL)
            dgamma[ch] += (float) (s_dyx * invstd);
        if (dx == NULL || count <= 0)
            continue;
        /* dx += a dy + k (x - mean) + m, the mean terms folded into k and m. */
        const double g = gamma != NULL ? gamma[ch] : 1.0;
        const double a = g * invstd;
        const float fa = (float) a, fmean = (float) mean;
        const float fk = (float) (-a * invstd * invstd * s_dyx / count);
        const float fm = (float) (-a * s_dy / count);
        for (int b = 0; b < n; b++) {
            const float *restrict xb = x + off + b * stride;
            const float *restrict dyb = dy + off + b * stride;
            float *restrict dxb = dx + off + b * stride;
            for (size_t i = 0; i < plane; i++)
                dxb[i] += fa * dyb[i] + fk * (xb[i] - fmean) + fm;
        }
    }
}

/* ---- layer norm ---- */

// x and y are (rows, cols); gamma and beta are (cols); saved stats are (rows)
void dn_cpu_layernorm_forward (DnBackend *be, int rows, int cols, const float *x,
                               const float *gamma, const float *beta, float eps, float *y,
                               float *save_mean, float *save_invstd)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict xr = x + (size_t) r * cols;
        float *restrict yr = y + (size_t) r * cols;
        double mean = cols > 0 ? sum_f (xr, cols) / cols : 0.0;
        double var = cols > 0 ? sum_sq_dev (xr, cols, mean) / cols : 0.0;
        double invstd = 1.0 / sqrt (var + eps);
        if (save_mean != NULL)
            save_mean[r] = (float) mean;
        if (save_invstd != NULL)
            save_invstd[r] = (float) invstd;
        const float fm = (float) mean, fi = (float) invstd;
        if (gamma != NULL && beta != NULL) {
            for (int j = 0; j < cols; j++)
                yr[j] = (xr[j] - fm) * fi * gamma[j] + beta[j];
        } else if (gamma != NULL) {
            for (int j = 0; j < cols; j++)
                yr[j] = (xr[j] - fm) * fi * gamma[j];
        } else {
            for (int j = 0; j < cols; j++)
                yr[j] = (xr[j] - fm) * fi;
        }
    }
}

// x, dy and dx are (rows, cols); with g = dy gamma and xhat = (x - mean) invstd per row:
// dx += invstd (g - mean(g) - xhat mean(g xhat)); dgamma += sum_rows dy xhat; dbeta += sum dy
void dn_cpu_layernorm_backward (DnBackend *be, int rows, int cols, const float *x, const float *dy,
                                const float *gamma, const float *save_mean,
                                const float *save_invstd, float *dx, float *dgamma, float *dbeta)
{
    for (int r = 0; r < rows; r++) {
        const float *restrict xr = x + (size_t) r * cols;
        const float *restrict dyr = dy + (size_t) r * cols;
        const float fm = save_mean[r], fi = save_invstd[r];
        if (dgamma != NULL)
            for (int j = 0; j < cols; j++)
                dgamma[j] += dyr[j] * (xr[j] - fm) * fi;
        if (dbeta != NULL)
            for (int j = 0; j < cols; j++)
                dbeta[j] += dyr[j];
        if (dx == NULL || cols == 0)
            continue;
        double a[LANES] = {0}, b[LANES] = {0};
        int j = 0;
        for (; j + LANES <= cols; j += LANES)
            for (int k = 0; k < LANES; k++) {
                float g = gamma != NULL ? dyr[j + k] * gamma[j + k] : dyr[j + k];
                a[k] += g;
                b[k] += g * (xr[j + k] - fm);
            }
        for (; j < cols; j++) {
            float g = gamma != NULL ? dyr[j] * gamma[j] : dyr[j];
            a[0] += g;
            b[0] += g * (xr[j] - fm);
        }
        double s_g = 0.0, s_gx = 0.0;
        for (int k = 0; k < LANES; k++) {
            s_g += a[k];
            s_gx += b[k];
        }
        /* dx += fi g + kx (x - mean) + m, folding mean(g) and mean(g xhat). */
        const float mg = (float) (s_g / cols);
        const float kx = (float) (-(double) fi * fi * fi * s_gx / cols);
        float *restrict dxr = dx + (size_t) r * cols;
        if (gamma != NULL)
            for (int jj = 0; jj < cols; jj++)
                dxr[jj] += fi * (dyr[jj] * gamma[jj] - mg) + kx * (xr[jj] - fm);
        else
            for (int jj = 0; jj < cols; jj++)
                dxr[jj] += fi * (dyr[jj] - mg) + kx * (xr[jj] - fm);
    }
}
