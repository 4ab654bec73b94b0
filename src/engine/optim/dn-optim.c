/* dn-optim.c: optimizer configurations (PyTorch's defaults and checks, JSON in
 * and out) and the optimizer object, which owns the state arenas and calls
 * the backend's *_update op once per step over the whole parameter arena.
 *
 * JSON fields use PyTorch's keyword names. A field that belongs to another
 * optimizer (say "betas" for SGD) is an error, as an unexpected keyword
 * argument is in PyTorch; dn_optim_config_to_json writes only the fields of
 * the configured kind, so its output always reads back.
 */
#include "dn-optim.h"

#include "dn-config-reader.h"
#include "dn-error.h"

#include <math.h>
#include <string.h>
#include <stdint.h>

static const char *const kind_names[] = {
    [DN_OPTIM_SGD] = "sgd",           [DN_OPTIM_ADAM] = "adam",       [DN_OPTIM_ADAMW] = "adamw",
    [DN_OPTIM_ADADELTA] = "adadelta", [DN_OPTIM_RMSPROP] = "rmsprop", NULL,
};

#define N_KINDS ((int) G_N_ELEMENTS (kind_names) - 1)

/* Which fields each kind reads, as bits of field_names' indices. */
enum {
    F_LR,
    F_WEIGHT_DECAY,
    F_MOMENTUM,
    F_DAMPENING,
    F_NESTEROV,
    F_BETAS,
    F_EPS,
    F_AMSGRAD,
    F_RHO,
    F_ALPHA,
    F_CENTERED,
    N_FIELDS
};

static const char *const field_names[N_FIELDS] = {
    "lr",  "weight_decay", "momentum", "dampening", "nesterov", "betas",
    "eps", "amsgrad",      "rho",      "alpha",     "centered",
};

#define BIT(f) (1u << (f))

static const guint kind_fields[] = {
    [DN_OPTIM_SGD] =
        BIT (F_LR) | BIT (F_WEIGHT_DECAY) | BIT (F_MOMENTUM) | BIT (F_DAMPENING) | BIT (F_NESTEROV),
    [DN_OPTIM_ADAM] =
        BIT (F_LR) | BIT (F_WEIGHT_DECAY) | BIT (F_BETAS) | BIT (F_EPS) | BIT (F_AMSGRAD),
    [DN_OPTIM_ADAMW] =
        BIT (F_LR) | BIT (F_WEIGHT_DECAY) | BIT (F_BETAS) | BIT (F_EPS) | BIT (F_AMSGRAD),
    [DN_OPTIM_ADADELTA] = BIT (F_LR) | BIT (F_WEIGHT_DECAY) | BIT (F_RHO) | BIT (F_EPS),
    [DN_OPTIM_RMSPROP] = BIT (F_LR) | BIT (F_WEIGHT_DECAY) | BIT (F_ALPHA) | BIT (F_EPS) |
                         BIT (F_MOMENTUM) | BIT (F_CENTERED),
};

const char *dn_optim_kind_name (DnOptimKind kind)
{
    if ((int) kind < 0 || (int) kind >= N_KINDS)
        return "unknown";
    return kind_names[kind];
}

void dn_optim_config_defaults (DnOptimConfig *cfg, DnOptimKind kind)
{
    g_return_if_fail (cfg != NULL);
    *cfg = (DnOptimConfig){
        .kind = kind,
        .lr = 1e-3,
        .weight_decay = 0.0,
        .momentum = 0.0,
        .dampening = 0.0,
        .nesterov = FALSE,
        .beta1 = 0.9,
        .beta2 = 0.999,
        .eps = 1e-8,
        .amsgrad = FALSE,
        .rho = 0.9,
        .alpha = 0.99,
        .centered = FALSE,
    };
    switch (kind) {
    case DN_OPTIM_SGD:
        /* PyTorch's SGD has no default lr (it must be given); 0.01 is ours. */
        cfg->lr = 0.01;
        break;
    case DN_OPTIM_ADAM:
        break;
    case DN_OPTIM_ADAMW:
        cfg->weight_decay = 0.01;
        break;
    case DN_OPTIM_ADADELTA:
        cfg->lr = 1.0;
        cfg->eps = 1e-6;
        break;
    case DN_OPTIM_RMSPROP:
        cfg->lr = 0.01;
        break;
    }
}

/* The fields of each kind, as the reader's lists. */
static gboolean check_fields (DnFieldReader *r, int kind)
{
    const char *names[N_KINDS][N_FIELDS + 1];
    const char *const *per_kind[N_KINDS];
    for (int k = 0; k < N_KINDS; k++) {
        int j = 0;
        for (int f = 0; f < N_FIELDS; f++) {
            if (kind_fields[k] & BIT (f))
                names[k][j++] = field_names[f];
        }
        names[k][j] = NULL;
        per_kind[k] = names[k];
    }
    return dn_fields_check_kind_keys (r, "type", kind_names, per_kind, kind);
}

gboolean dn_optim_config_from_json (JsonObject *obj, DnOptimConfig *cfg, GError **error)
{
    g_return_val_if_fail (obj != NULL && cfg != NULL, FALSE);
    g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

    g_auto (DnFieldReader) r = dn_fields_reader (obj, NULL, "optimizer", 0, error);
    r.required = (const char *const[]){"type", NULL};
    int kind = 0;
    if (!dn_fields_enum (&r, "type", kind_names, NULL, &kind) || !check_fields (&r, kind))
        return FALSE;

    DnOptimConfig c;
    dn_optim_config_defaults (&c, (DnOptimKind) kind);
    const DnRange ge0 = {0.0, INFINITY}, any = {-INFINITY, INFINITY};
    const DnRange beta = {0.0, 1.0, .max_open = TRUE};
    double betas[2] = {c.beta1, c.beta2};
    int n_betas = 0;
    if (!dn_fields_number_in (&r, "lr", &ge0, &c.lr) ||
        !dn_fields_number_in (&r, "weight_decay", &ge0, &c.weight_decay) ||
        !dn_fields_number_in (&r, "momentum", &ge0, &c.momentum) ||
        !dn_fields_number_in (&r, "dampening", &any, &c.dampening) ||
        !dn_fields_bool (&r, "nesterov", &c.nesterov) ||
        !dn_fields_number_list (&r, "betas", &beta, 2, 2, FALSE, betas, &n_betas) ||
        !dn_fields_number_in (&r, "eps", &ge0, &c.eps) ||
        !dn_fields_bool (&r, "amsgrad", &c.amsgrad) ||
        !dn_fields_number (&r, "rho", 0.0, 1.0, &c.rho) ||
        !dn_fields_number_in (&r, "alpha", &ge0, &c.alpha) ||
        !dn_fields_bool (&r, "centered", &c.centered))
        return FALSE;
    c.beta1 = betas[0];
    c.beta2 = betas[1];

    if (c.nesterov && (c.momentum <= 0.0 || c.dampening != 0.0)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "optimizer \"nesterov\" needs \"momentum\" > 0 and \"dampening\" 0, got "
                     "momentum %g and dampening %g; set momentum (e.g. 0.9) or nesterov false",
                     c.momentum, c.dampening);
        return FALSE;
    }
    *cfg = c;
    return TRUE;
}

void dn_optim_config_to_json (const DnOptimConfig *cfg, JsonBuilder *b)
{
    g_return_if_fail (cfg != NULL && b != NULL);
    guint fields = kind_fields[cfg->kind];

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "type");
    json_builder_add_string_value (b, kind_names[cfg->kind]);
    json_builder_set_member_name (b, "lr");
    json_builder_add_double_value (b, cfg->lr);
    if (fields & BIT (F_MOMENTUM)) {
        json_builder_set_member_name (b, "momentum");
        json_builder_add_double_value (b, cfg->momentum);
    }
    if (fields & BIT (F_DAMPENING)) {
        json_builder_set_member_name (b, "dampening");
        json_builder_add_double_value (b, cfg->dampening);
    }
    if (fields & BIT (F_NESTEROV)) {
        json_builder_set_member_name (b, "nesterov");
        json_builder_add_boolean_value (b, cfg->nesterov);
    }
    if (fields & BIT (F_BETAS)) {
        json_builder_set_member_name (b, "betas");
        json_builder_begin_array (b);
        json_builder_add_double_value (b, cfg->beta1);
        json_builder_add_double_value (b, cfg->beta2);
        json_builder_end_array (b);
    }
    if (fields & BIT (F_RHO)) {
        json_builder_set_member_name (b, "rho");
        json_builder_add_double_value (b, cfg->rho);
    }
    if (fields & BIT (F_ALPHA)) {
        json_builder_set_member_name (b, "alpha");
        json_builder_add_double_value (b, cfg->alpha);
    }
    if (fields & BIT (F_EPS)) {
        json_builder_set_member_name (b, "eps");
        json_builder_add_double_value (b, cfg->eps);
    }
    json_builder_set_member_name (b, "weight_decay");
    json_builder_add_double_value (b, cfg->weight_decay);
    if (fields & BIT (F_AMSGRAD)) {
        json_builder_set_member_name (b, "amsgrad");
        json_builder_add_boolean_value (b, cfg->amsgrad);
    }
    if (fields & BIT (F_CENTERED)) {
        json_builder_set_member_name (b, "centered");
        json_builder_add_boolean_value (b, cfg->centered);
    }
    json_builder_end_object (b);
}

/* The optimizer. State buffers, in PyTorch's state order, each n floats. */

#define MAX_BUFFERS 3

struct _DnOptimizer {
    DnOptimConfig cfg;
    DnBackend *be;
    size_t n;
    int64_t steps;
    int n_buffers;
    float *buffers[MAX_BUFFERS];
    const char *names[MAX_BUFFERS];
};

/* The buffer called `name`, or NULL when this configuration has none. */
static float *find_buffer (DnOptimizer *opt, const char *name)
{
    for (int i = 0; i < opt->n_buffers; i++) {
        if (g_str_equal (opt->names[i], name))
            return opt->buffers[i];
    }
    return NULL;
}

static gboolean add_buffer (DnOptimizer *opt, const char *name, GError **error)
{
    g_assert (opt->n_buffers < MAX_BUFFERS);
    /* One float at least, so a backend never sees a zero-byte request. */
    size_t count = opt->n ? opt->n : 1;
    float *p = NULL;
    if (count <= SIZE_MAX / sizeof (float))
        p = opt->be->alloc (opt->be, count * sizeof (float));
    if (p == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "Out of memory: optimizer state \"%s\" needs %.1f MB on %s; use a smaller "
                     "network or an optimizer with less state (SGD without momentum has none)",
                     name, (double) count * sizeof (float) / 1e6, opt->be->name);
        return FALSE;
    }
    opt->buffers[opt->n_buffers] = p;
    opt->names[opt->n_buffers] = name;
    opt->n_buffers++;
    return TRUE;
}

DnOptimizer *dn_optimizer_new (const DnOptimConfig *cfg, DnBackend *be, size_t n, GError **error)
{
    g_return_val_if_fail (cfg != NULL && be != NULL, NULL);
    g_return_val_if_fail ((int) cfg->kind >= 0 && (int) cfg->kind < N_KINDS, NULL);

    DnOptimizer *opt = g_new0 (DnOptimizer, 1);
    opt->cfg = *cfg;
    opt->be = be;
    opt->n = n;

    gboolean ok = TRUE;
    switch (cfg->kind) {
    case DN_OPTIM_SGD:
        if (cfg->momentum != 0.0)
            ok = add_buffer (opt, "momentum_buffer", error);
        break;
    case DN_OPTIM_ADAM:
    case DN_OPTIM_ADAMW:
        ok = add_buffer (opt, "exp_avg", error) && add_buffer (opt, "exp_avg_sq", error);
        if (ok && cfg->amsgrad)
            ok = add_buffer (opt, "max_exp_avg_sq", error);
        break;
    case DN_OPTIM_ADADELTA:
        ok = add_buffer (opt, "square_avg", error) && add_buffer (opt, "acc_delta", error);
        break;
    case DN_OPTIM_RMSPROP:
        ok = add_buffer (opt, "square_avg", error);
        if (ok && cfg->momentum > 0.0)
            ok = add_buffer (opt, "momentum_buffer", error);
        if (ok && cfg->centered)
            ok = add_buffer (opt, "grad_avg", error);
        break;
    }
    if (!ok) {
        dn_optimizer_free (opt);
        return NULL;
    }
    return opt;
}

void dn_optimizer_free (DnOptimizer *opt)
{
    if (opt == NULL)
        return;
    for (int i = 0; i < opt->n_buffers; i++)
        opt->be->free (opt->be, opt->buffers[i]);
    g_free (opt);
}

static void update_span (DnOptimizer *opt, size_t off, size_t n, float *params, const float *grads,
                         double lr);

void dn_optimizer_step (DnOptimizer *opt, float *params, const float *grads, double lr)
{
    g_return_if_fail (opt != NULL);
    opt->steps++;
    if (opt->n == 0)
        return;
    update_span (opt, 0, opt->n, params, grads, lr);
}

gboolean dn_optimizer_spans_exact (const DnOptimizer *opt)
{
    g_return_val_if_fail (opt != NULL, FALSE);
    const DnOptimConfig *c = &opt->cfg;
    return c->weight_decay == 0.0 && !(c->kind == DN_OPTIM_SGD && c->dampening != 0.0);
}

void dn_optimizer_step_spans (DnOptimizer *opt, float *params, const float *grads, double lr,
                              const size_t *spans, int n_spans)
{
    g_return_if_fail (opt != NULL);
    opt->steps++;
    for (int i = 0; i < n_spans; i++) {
        g_return_if_fail (spans[2 * i] + spans[2 * i + 1] <= opt->n);
        update_span (opt, spans[2 * i], spans[2 * i + 1], params, grads, lr);
    }
}

static float *at (DnOptimizer *opt, const char *name, size_t off)
{
    float *b = find_buffer (opt, name);
    return b != NULL ? b + off : NULL;
}

static void update_span (DnOptimizer *opt, size_t off, size_t n, float *params, const float *grads,
                         double lr)
{
    const DnOptimConfig *c = &opt->cfg;
    DnBackend *be = opt->be;
    params += off;
    grads += off;

    switch (c->kind) {
    case DN_OPTIM_SGD:
        be->sgd_update (be, n, params, grads, at (opt, "momentum_buffer", off), (float) lr,
                        (float) c->momentum, (float) c->dampening, c->nesterov,
                        (float) c->weight_decay, opt->steps == 1);
        break;
    case DN_OPTIM_ADAM:
    case DN_OPTIM_ADAMW:
        be->adam_update (be, n, params, grads, at (opt, "exp_avg", off), at (opt, "exp_avg_sq", off),
                         at (opt, "max_exp_avg_sq", off),
                         (float) lr, (float) c->beta1, (float) c->beta2, (float) c->eps,
                         (float) c->weight_decay, c->kind == DN_OPTIM_ADAMW, c->amsgrad,
                         opt->steps);
        break;
    case DN_OPTIM_ADADELTA:
        be->adadelta_update (be, n, params, grads, at (opt, "square_avg", off),
                             at (opt, "acc_delta", off), (float) lr, (float) c->rho,
                             (float) c->eps, (float) c->weight_decay);
        break;
    case DN_OPTIM_RMSPROP:
        be->rmsprop_update (be, n, params, grads, at (opt, "square_avg", off),
                            at (opt, "grad_avg", off), at (opt, "momentum_buffer", off),
                            (float) lr, (float) c->alpha, (float) c->eps, (float) c->weight_decay,
                            (float) c->momentum, c->centered);
        break;
    }
}

gboolean dn_optimizer_idle_exact (const DnOptimizer *opt)
{
    g_return_val_if_fail (opt != NULL, FALSE);
    const DnOptimConfig *c = &opt->cfg;
    return (c->kind == DN_OPTIM_ADAM || c->kind == DN_OPTIM_ADAMW) && c->weight_decay == 0.0 &&
           opt->be->host_memory;
}

gboolean dn_optimizer_row_idle (DnOptimizer *opt, const float *params, size_t off, size_t n,
                                double lr)
{
    g_return_val_if_fail (opt != NULL && off + n <= opt->n, FALSE);
    const float *m = find_buffer (opt, "exp_avg");
    g_return_val_if_fail (m != NULL, FALSE);
    const DnOptimConfig *c = &opt->cfg;
    m += off;
    params += off;
    const float b1 = (float) c->beta1;
    /* The step size lr / (1 - beta1^t) only shrinks as t grows, and the moved
     * amount step_size * m / (sqrt(v) / ... + eps) is at most step_size * |m| / eps,
     * whatever v becomes. Half an ulp of w is at least |w| * 2^-25; a factor 8 of
     * margin covers the roundings of the quotient and product. */
    double t = (double) MAX (opt->steps, 1);
    double step = lr / (1.0 - pow (c->beta1, t));
    double k = 8.0 * step / (double) (float) c->eps * 33554432.0;
    for (size_t i = 0; i < n; i++) {
        float mi = m[i];
        if (mi == 0.0f)
            continue;
        float next = mi * b1 + 0.0f;
        if (next != mi || !(fabs ((double) params[i]) > k * fabs ((double) mi)))
            return FALSE;
    }
    return TRUE;
}

/* The second-moment update of a step with zero gradient, v = v * beta2 + 0, is one
 * rounding of v * beta2; `steps` of them in a row, in order, give the same bits. */
void dn_optimizer_decay_idle (DnOptimizer *opt, size_t off, size_t n, int64_t steps)
{
    g_return_if_fail (opt != NULL && off + n <= opt->n);
    float *v = find_buffer (opt, "exp_avg_sq");
    g_return_if_fail (v != NULL);
    const float b2 = (float) opt->cfg.beta2;
    v += off;
    for (int64_t k = 0; k < steps; k++) {
        gboolean all_zero = TRUE;
        for (size_t i = 0; i < n; i++) {
            v[i] = v[i] * b2;
            all_zero &= v[i] == 0.0f;
        }
        if (all_zero) /* zero stays zero */
            break;
    }
}

int64_t dn_optimizer_steps (const DnOptimizer *opt)
{
    g_return_val_if_fail (opt != NULL, 0);
    return opt->steps;
}

void dn_optimizer_set_steps (DnOptimizer *opt, int64_t steps)
{
    g_return_if_fail (opt != NULL && steps >= 0);
    opt->steps = steps;
}

int dn_optimizer_n_buffers (const DnOptimizer *opt)
{
    g_return_val_if_fail (opt != NULL, 0);
    return opt->n_buffers;
}

float *dn_optimizer_buffer (DnOptimizer *opt, int i, const char **name)
{
    g_return_val_if_fail (opt != NULL && i >= 0 && i < opt->n_buffers, NULL);
    if (name != NULL)
        *name = opt->names[i];
    return opt->buffers[i];
}

gboolean dn_optimizer_load_buffer (DnOptimizer *opt, int i, const float *host, size_t n,
                                   GError **error)
{
    g_return_val_if_fail (opt != NULL && i >= 0 && i < opt->n_buffers, FALSE);
    if (n != opt->n) {
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "optimizer state \"%s\" has %zu values but the network has %zu parameters",
                     opt->names[i], n, opt->n);
        return FALSE;
    }
    opt->be->upload (opt->be, opt->buffers[i], host, n * sizeof (float));
    return TRUE;
}
