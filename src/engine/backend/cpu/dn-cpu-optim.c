/* dn-cpu-optim.c: the CPU backend's optimizer updates, PyTorch 1.13's rules.
 *
 * Each update walks the flat parameter arena once. The branches on the
 * configuration (momentum or not, nesterov, amsgrad, centered) are taken
 * outside the loops so every loop body is straight-line float arithmetic the
 * compiler vectorises. Arithmetic is in float, as PyTorch's float kernels do;
 * per-step scalars (bias corrections, step sizes) are computed in double and
 * rounded once, as PyTorch does in Python before calling its kernels.
 *
 * Buffers a configuration does not use may be NULL: momentum_buf for SGD and
 * RMSprop without momentum, vmax for Adam without amsgrad, grad_avg for
 * RMSprop when not centered.
 */
#include "dn-backend-cpu-private.h"

#include <math.h>

/* PyTorch torch.optim.SGD, one step:
 *   d = g + weight_decay * w
 *   momentum != 0: buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d;
 *                  d = nesterov ? d + momentum * buf : buf
 *   w -= lr * d
 * w, g, momentum_buf are (n). */
void dn_cpu_sgd_update (DnBackend *be, size_t n, float *w_, const float *g_, float *momentum_buf,
                        float lr, float momentum, float dampening, gboolean nesterov,
                        float weight_decay, gboolean first_step)
{
    float *restrict w = w_;
    const float *restrict g = g_;
    const float wd = weight_decay;

    if (momentum == 0.0f) {
        for (size_t i = 0; i < n; i++)
            w[i] -= lr * (g[i] + wd * w[i]);
        return;
    }

    float *restrict buf = momentum_buf;
    const float mom = momentum;
    const float keep = (float) (1.0 - (double) dampening);

    if (first_step) {
        if (nesterov) {
            for (size_t i = 0; i < n; i++) {
                float d = g[i] + wd * w[i];
                buf[i] = d;
                w[i] -= lr * (d + mom * d);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                float d = g[i] + wd * w[i];
                buf[i] = d;
                w[i] -= lr * d;
            }
        }
        return;
    }

    if (nesterov) {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            float b = buf[i] * mom + keep * d;
            buf[i] = b;
            w[i] -= lr * (d + mom * b);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float d = g[i] + wd * w[i];
            float b = buf[i] * mom + keep * d;
            buf[i] = b;
            w[i] -= lr * b;
        }
    }
}

/* PyTorch torch.optim.Adam (decoupled = FALSE) and AdamW (decoupled = TRUE), step t >= 1:
 *   Adam:  g += weight_decay * w          AdamW: w *= 1 - lr * weight_decay
 *   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
 *   amsgrad: vmax = max(vmax, v) and vmax replaces v below
 *   w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * w, g, m, v, vmax are (n). */
void dn_cpu_adam_update (DnBackend *be, size_t n, float *w_, const float *g_, float *m_, float *v_,
                         float *vmax_, float lr, float beta1, float beta2, float eps,
                         float weight_decay, gboolean decoupled, gboolean amsgrad, int64_t step)
{
    float *restrict w = w_;
    const float *restrict g = g_;
    float *restrict m = m_;
    float *restrict v = v_;
    float *restrict vmax = vmax_;

    const double t = (double) (step < 1 ? 1 : step);
    const double bias1 = 1.0 - pow ((double) beta1, t);
    const double bias2 = 1.0 - pow ((double) beta2, t);
    const float step_size = (float) ((double) lr / bias1);
    const float bias2_sqrt = (float) sqrt (bias2);
    const float b1 = beta1, b2 = beta2;
    const float c1 = (float) (1.0 - (double) beta1);
    const float c2 = (float) (1.0 - (double) beta2);
    /* Adam adds the decay to the gradient; AdamW shrinks the weights instead. */
    const float wd = decoupled ? 0.0f : weight_decay;
    const float shrink = decoupled ? (float) (1.0 - (double) lr * (double) weight_decay) : 1.0f;

    if (amsgrad) {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float mi = m[i] * b1 + c1 * gi;
            float vi = v[i] * b2 + c2 * gi * gi;
            float vm = vmax[i] > vi ? vmax[i] : vi;
            m[i] = mi;
            v[i] = vi;
            vmax[i] = vm;
            float denom = sqrtf (vm) / bias2_sqrt + eps;
            w[i] = w[i] * shrink - step_size * (mi / denom);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float mi = m[i] * b1 + c1 * gi;
            float vi = v[i] * b2 + c2 * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float denom = sqrtf (vi) / bias2_sqrt + eps;
            w[i] = w[i] * shrink - step_size * (mi / denom);
        }
    }
}

/* PyTorch torch.optim.Adadelta:
 *   g += weight_decay * w
 *   sq_avg = rho * sq_avg + (1 - rho) * g^2
 *   delta = sqrt(acc_delta + eps) / sqrt(sq_avg + eps) * g
 *   acc_delta = rho * acc_delta + (1 - rho) * delta^2
 *   w -= lr * delta
 * w, g, sq_avg, acc_delta are (n). */
void dn_cpu_adadelta_update (DnBackend *be, size_t n, float *w_, const float *g_, float *sq_avg_,
                             float *acc_delta_, float lr, float rho, float eps, float weight_decay)
{
    float *restrict w = w_;
    const float *restrict g = g_;
    float *restrict sq = sq_avg_;
    float *restrict acc = acc_delta_;
    const float c = (float) (1.0 - (double) rho);
    const float wd = weight_decay;

    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        float s = sq[i] * rho + c * gi * gi;
        float std = sqrtf (s + eps);
        float delta = sqrtf (acc[i] + eps) / std * gi;
        sq[i] = s;
        acc[i] = acc[i] * rho + c * delta * delta;
        w[i] -= lr * delta;
    }
}

/* PyTorch torch.optim.RMSprop:
 *   g += weight_decay * w
 *   sq_avg = alpha * sq_avg + (1 - alpha) * g^2
 *   centered: grad_avg = alpha * grad_avg + (1 - alpha) * g; avg = sqrt(sq_avg - grad_avg^2)
 *   else:     avg = sqrt(sq_avg)
 *   avg += eps
 *   momentum > 0: buf = momentum * buf + g / avg; w -= lr * buf
 *   else:         w -= lr * g / avg
 * w, g and the buffers are (n). */
void dn_cpu_rmsprop_update (DnBackend *be, size_t n, float *w_, const float *g_, float *sq_avg_,
                            float *grad_avg_, float *momentum_buf, float lr, float alpha, float eps,
                            float weight_decay, float momentum, gboolean centered)
{
    float *restrict w = w_;
    const float *restrict g = g_;
    float *restrict sq = sq_avg_;
    float *restrict ga = grad_avg_;
    float *restrict buf = momentum_buf;
    const float c = (float) (1.0 - (double) alpha);
    const float wd = weight_decay;
    const float mom = momentum;

    if (centered && momentum > 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float s = sq[i] * alpha + c * gi * gi;
            float a = ga[i] * alpha + c * gi;
            sq[i] = s;
            ga[i] = a;
            float avg = sqrtf (s - a * a) + eps;
            float b = buf[i] * mom + gi / avg;
            buf[i] = b;
            w[i] -= lr * b;
        }
    } else if (centered) {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float s = sq[i] * alpha + c * gi * gi;
            float a = ga[i] * alpha + c * gi;
            sq[i] = s;
            ga[i] = a;
            float avg = sqrtf (s - a * a) + eps;
            w[i] -= lr * (gi / avg);
        }
    } else if (momentum > 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float s = sq[i] * alpha + c * gi * gi;
            sq[i] = s;
            float avg = sqrtf (s) + eps;
            float b = buf[i] * mom + gi / avg;
            buf[i] = b;
            w[i] -= lr * b;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float s = sq[i] * alpha + c * gi * gi;
            sq[i] = s;
            float avg = sqrtf (s) + eps;
            w[i] -= lr * (gi / avg);
        }
    }
}
