/* dn-cpu-loss.c: losses and accuracy counting on the CPU.
 *
 * Every loss is PyTorch's reduction='mean', accumulated in double. The
 * gradient, when asked for, OVERWRITES dlogits (it is the start of a
 * backward pass) and is multiplied by `scale`.
 *
 * Class labels outside [0, cols) (PyTorch's ignore_index, -100, among them)
 * are ignored: they add no loss and no gradient, and the mean is over the
 * remaining rows, as PyTorch does for ignore_index. Reading out of bounds is
 * never an option.
 */
#include "dn-backend-cpu-private.h"

#include <math.h>
#include <string.h>

static inline gboolean label_ok (int32_t label, int cols)
{
    return label >= 0 && label < cols;
}

static int count_valid (int rows, int cols, const int32_t *labels)
{
    int n = 0;
    for (int r = 0; r < rows; r++)
        n += label_ok (labels[r], cols);
    return n;
}

// logits and dlogits are (rows, cols); labels is (rows)
// loss = (1 - eps) (-logp[label]) + eps mean_j (-logp[j]), logp = log_softmax (logits)
void dn_cpu_cross_entropy (DnBackend *be, int rows, int cols, const float *logits,
                           const int32_t *labels, float label_smoothing, float scale, double *loss,
                           float *dlogits)
{
    const int valid = count_valid (rows, cols, labels);
    const double eps = label_smoothing;
    const float g_scale = valid > 0 ? scale / (float) valid : 0.0f;
    const float smooth = (float) (eps / cols);
    double total = 0.0;
    for (int r = 0; r < rows; r++) {
        const float *x = logits + (size_t) r * cols;
        float *d = dlogits != NULL ? dlogits + (size_t) r * cols : NULL;
        if (!label_ok (labels[r], cols)) {
            if (d != NULL)
                memset (d, 0, (size_t) cols * sizeof (float));
            continue;
        }
        float m = -INFINITY;
        for (int j = 0; j < cols; j++)
            m = x[j] > m ? x[j] : m;
        double s = 0.0, sum_x = 0.0;
        for (int j = 0; j < cols; j++) {
            s += expf (x[j] - m);
            sum_x += x[j];
        }
        const double lse = m + log (s);
        total += (1.0 - eps) * (lse - x[labels[r]]) + eps * (lse - sum_x / cols);
        if (d == NULL)
            continue;
        /* d/dx_j = softmax_j - (1 - eps) [j == label] - eps / cols */
        const float inv_s = (float) (1.0 / s);
        for (int j = 0; j < cols; j++)
            d[j] = (expf (x[j] - m) * inv_s - smooth) * g_scale;
        d[labels[r]] -= (float) (1.0 - eps) * g_scale;
    }
    *loss = valid > 0 ? total / valid : 0.0;
}

// logp and dlogp are (rows, cols); loss = -mean logp[label]
void dn_cpu_nll (DnBackend *be, int rows, int cols, const float *logp, const int32_t *labels,
                 float scale, double *loss, float *dlogp)
{
    const int valid = count_valid (rows, cols, labels);
    double total = 0.0;
    if (dlogp != NULL)
        memset (dlogp, 0, (size_t) rows * cols * sizeof (float));
    for (int r = 0; r < rows; r++) {
        if (!label_ok (labels[r], cols))
            continue;
        total -= logp[(size_t) r * cols + labels[r]];
        if (dlogp != NULL)
            dlogp[(size_t) r * cols + labels[r]] = -scale / (float) valid;
    }
    *loss = valid > 0 ? total / valid : 0.0;
}

// pred, target and dpred are (rows, cols); loss = mean over all elements of (pred - target)^2
void dn_cpu_mse (DnBackend *be, int rows, int cols, const float *pred, const float *target,
                 float scale, double *loss, float *dpred)
{
    const size_t n = (size_t) rows * cols;
    double acc[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            double e = (double) pred[i + k] - target[i + k];
            acc[k] += e * e;
        }
    for (; i < n; i++) {
        double e = (double) pred[i] - target[i];
        acc[0] += e * e;
    }
    double total = 0.0;
    for (int k = 0; k < 8; k++)
        total += acc[k];
    *loss = n > 0 ? total / n : 0.0;
    if (dpred == NULL || n == 0)
        return;
    const float g = 2.0f * scale / (float) n;
    for (size_t j = 0; j < n; j++)
        dpred[j] = g * (pred[j] - target[j]);
}

// logits, target and dlogits are (rows, cols); loss = mean of
// max(x, 0) - x t + log(1 + exp(-|x|)), the stable form of BCE on sigmoid(x)
void dn_cpu_bce_logits (DnBackend *be, int rows, int cols, const float *logits, const float *target,
                        float scale, double *loss, float *dlogits)
{
    const size_t n = (size_t) rows * cols;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        float x = logits[i];
        total += (x > 0.0f ? x : 0.0f) - x * target[i] + log1pf (expf (-fabsf (x)));
    }
    *loss = n > 0 ? total / n : 0.0;
    if (dlogits == NULL || n == 0)
        return;
    const float g = scale / (float) n;
    for (size_t i = 0; i < n; i++)
        dlogits[i] = g * (1.0f / (1.0f + expf (-logits[i])) - target[i]);
}

// labels is (rows); targets (rows, cols)
void dn_cpu_one_hot (DnBackend *be, int rows, int cols, const int32_t *labels, float *targets)
{
    memset (targets, 0, (size_t) rows * cols * sizeof (float));
    for (int r = 0; r < rows; r++)
        if (label_ok (labels[r], cols))
            targets[(size_t) r * cols + labels[r]] = 1.0f;
}

// logits is (rows, cols); the first largest value is the prediction, as torch.argmax
int dn_cpu_count_correct (DnBackend *be, int rows, int cols, const float *logits,
                          const int32_t *labels)
{
    int correct = 0;
    for (int r = 0; r < rows; r++) {
        const float *x = logits + (size_t) r * cols;
        int best = 0;
        for (int j = 1; j < cols; j++)
            if (x[j] > x[best])
                best = j;
        correct += cols > 0 && best == labels[r];
    }
    return correct;
}
