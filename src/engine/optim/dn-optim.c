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

#include "dn-error.h"
#include "dn-json.h"

#include <math.h>
#include <string.h>
#include <stdint.h>

static const char *const kind_names[] = {
    [DN_OPTIM_SGD] = "sgd",           [DN_OPTIM_ADAM] = "adam",       [DN_OPTIM_ADAMW] = "adamw",
    [DN_OPTIM_ADADELTA] = "adadelta", [DN_OPTIM_RMSPROP] = "rmsprop",
};

#define N_KINDS ((int) G_N_ELEMENTS (kind_names))

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


static gboolean node_is_number (JsonNode *node)
{
    if (!JSON_NODE_HOLDS_VALUE (node))
        return FALSE;
    GType t = json_node_get_value_type (node);
    return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

/* Reads a number member into *out if present; `rule` says what is allowed
 * ("a number >= 0"), check says whether the value meets it. */
static gboolean read_number (JsonObject *obj, const char *field, const char *rule,
                             gboolean (*check) (double), double *out, GError **error)
{
    JsonNode *node = json_object_get_member (obj, field);
    if (node == NULL)
        return TRUE;
    double v = node_is_number (node) ? json_node_get_double (node) : NAN;
    if (!node_is_number (node) || !isfinite (v) || (check != NULL && !check (v))) {
        g_autofree char *got = dn_json_describe (node);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "optimizer \"%s\" must be %s, got %s", field,
                     rule, got);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

static gboolean read_bool (JsonObject *obj, const char *field, gboolean *out, GError **error)
{
    JsonNode *node = json_object_get_member (obj, field);
    if (node == NULL)
        return TRUE;
    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN) {
        g_autofree char *got = dn_json_describe (node);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "optimizer \"%s\" must be true or false, got %s", field, got);
        return FALSE;
    }
    *out = json_node_get_boolean (node);
    return TRUE;
}

static gboolean non_negative (double v)
{
    return v >= 0.0;
}

static gboolean unit_closed (double v)
{
    return v >= 0.0 && v <= 1.0;
}

static gboolean unit_half_open (double v)
{
    return v >= 0.0 && v < 1.0;
}

static gboolean read_betas (JsonObject *obj, DnOptimConfig *cfg, GError **error)
{
    JsonNode *node = json_object_get_member (obj, "betas");
    if (node == NULL)
        return TRUE;
    JsonArray *a = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
    if (a == NULL || json_array_get_length (a) != 2) {
        g_autofree char *got = dn_json_describe (node);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "optimizer \"betas\" must be two numbers in [0, 1), e.g. [0.9, 0.999], "
                     "got %s%s",
                     got, a != NULL ? " of another length" : "");
        return FALSE;
    }
    double b[2];
    for (guint i = 0; i < 2; i++) {
        JsonNode *el = json_array_get_element (a, i);
        b[i] = node_is_number (el) ? json_node_get_double (el) : NAN;
        if (!node_is_number (el) || !unit_half_open (b[i])) {
            g_autofree char *got = dn_json_describe (el);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "optimizer \"betas\"[%u] must be a number in [0, 1), e.g. [0.9, 0.999], "
                         "got %s",
                         i, got);
            return FALSE;
        }
    }
    cfg->beta1 = b[0];
    cfg->beta2 = b[1];
    return TRUE;
}

/* Names the kinds that read field f, for "does not apply" messages. */
static char *kinds_with_field (int f)
{
    GString *s = g_string_new (NULL);
    for (int k = 0; k < N_KINDS; k++) {
        if (kind_fields[k] & BIT (f))
            g_string_append_printf (s, "%s\"%s\"", s->len ? ", " : "", kind_names[k]);
    }
    return g_string_free (s, FALSE);
}

static char *fields_of_kind (DnOptimKind kind)
{
    GString *s = g_string_new (NULL);
    for (int f = 0; f < N_FIELDS; f++) {
        if (kind_fields[kind] & BIT (f))
            g_string_append_printf (s, "%s\"%s\"", s->len ? ", " : "", field_names[f]);
    }
    return g_string_free (s, FALSE);
}

static gboolean check_members (JsonObject *obj, DnOptimKind kind, GError **error)
{
    g_autoptr (GList) members = json_object_get_members (obj);
    for (GList *l = members; l != NULL; l = l->next) {
        const char *name = l->data;
        if (g_str_equal (name, "type"))
            continue;
        int f;
        for (f = 0; f < N_FIELDS; f++) {
            if (g_str_equal (name, field_names[f]))
                break;
        }
        if (f == N_FIELDS) {
            g_autofree char *known = fields_of_kind (kind);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "optimizer field \"%s\" is unknown; \"%s\" reads \"type\", %s", name,
                         kind_names[kind], known);
            return FALSE;
        }
        if (!(kind_fields[kind] & BIT (f))) {
            g_autofree char *kinds = kinds_with_field (f);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "optimizer \"%s\" does not apply to \"%s\"; remove it (it is a setting "
                         "of %s)",
                         name, kind_names[kind], kinds);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean read_kind (JsonObject *obj, DnOptimKind *kind, GError **error)
{
    JsonNode *node = json_object_get_member (obj, "type");
    if (node == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "optimizer \"type\" is missing; use one of \"sgd\", \"adam\", \"adamw\", "
                     "\"adadelta\", \"rmsprop\"");
        return FALSE;
    }
    if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
        const char *s = json_node_get_string (node);
        for (int k = 0; k < N_KINDS; k++) {
            if (g_ascii_strcasecmp (s, kind_names[k]) == 0) {
                *kind = (DnOptimKind) k;
                return TRUE;
            }
        }
    }
    g_autofree char *got = dn_json_describe (node);
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                 "optimizer \"type\" must be one of \"sgd\", \"adam\", \"adamw\", \"adadelta\", "
                 "\"rmsprop\", got %s",
                 got);
    return FALSE;
}

gboolean dn_optim_config_from_json (JsonObject *obj, DnOptimConfig *cfg, GError **error)
{
    g_return_val_if_fail (obj != NULL && cfg != NULL, FALSE);
    g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

    DnOptimKind kind;
    if (!read_kind (obj, &kind, error) || !check_members (obj, kind, error))
        return FALSE;

    DnOptimConfig c;
    dn_optim_config_defaults (&c, kind);
    const char *ge0 = "a number >= 0";
    if (!read_number (obj, "lr", ge0, non_negative, &c.lr, error) ||
        !read_number (obj, "weight_decay", ge0, non_negative, &c.weight_decay, error) ||
        !read_number (obj, "momentum", ge0, non_negative, &c.momentum, error) ||
        !read_number (obj, "dampening", "a number", NULL, &c.dampening, error) ||
        !read_bool (obj, "nesterov", &c.nesterov, error) || !read_betas (obj, &c, error) ||
        !read_number (obj, "eps", ge0, non_negative, &c.eps, error) ||
        !read_bool (obj, "amsgrad", &c.amsgrad, error) ||
        !read_number (obj, "rho", "a number in [0, 1]", unit_closed, &c.rho, error) ||
        !read_number (obj, "alpha", ge0, non_negative, &c.alpha, error) ||
        !read_bool (obj, "centered", &c.centered, error))
        return FALSE;

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
           g_str_equal (opt->be->name, "cpu");
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
