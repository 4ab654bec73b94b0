/* dn-sched.c: learning-rate schedulers, PyTorch 1.13's torch.optim.lr_scheduler.
 *
 * Each scheduler keeps PyTorch's state: the epoch counter (last_epoch), the
 * current rate and, for ReduceLROnPlateau, best / num_bad_epochs /
 * cooldown_counter. Rates follow PyTorch's recursive (chainable) formulas,
 * not the closed forms, so the sequences match PyTorch to the last bits; in
 * particular CosineAnnealingLR keeps going past T_max, climbing back to the
 * base rate at 2*T_max, as PyTorch's does.
 *
 * JSON uses PyTorch's argument names. Arguments PyTorch requires are required
 * here too ("step_size", "milestones", "gamma" of "exponential", "T_max");
 * dn_sched_config_defaults still fills them (1, none, 0.1, 1) so a
 * configuration made in code is valid.
 */
#include "dn-optim.h"

#include "dn-error.h"
#include "dn-json.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

static const char *const kind_names[] = {
    [DN_SCHED_NONE] = "none",           [DN_SCHED_STEP] = "step",
    [DN_SCHED_MULTISTEP] = "multistep", [DN_SCHED_EXPONENTIAL] = "exponential",
    [DN_SCHED_COSINE] = "cosine",       [DN_SCHED_PLATEAU] = "plateau",
};

/* PyTorch's class names are accepted too, in any case. */
static const char *const torch_names[] = {
    [DN_SCHED_NONE] = "constant",
    [DN_SCHED_STEP] = "steplr",
    [DN_SCHED_MULTISTEP] = "multisteplr",
    [DN_SCHED_EXPONENTIAL] = "exponentiallr",
    [DN_SCHED_COSINE] = "cosineannealinglr",
    [DN_SCHED_PLATEAU] = "reducelronplateau",
};

#define N_KINDS ((int) G_N_ELEMENTS (kind_names))

/* The fields each kind reads, separated by spaces; "" for none. */
static const char *const kind_fields[] = {
    [DN_SCHED_NONE] = "",
    [DN_SCHED_STEP] = "step_size gamma",
    [DN_SCHED_MULTISTEP] = "milestones gamma",
    [DN_SCHED_EXPONENTIAL] = "gamma",
    [DN_SCHED_COSINE] = "T_max eta_min",
    [DN_SCHED_PLATEAU] = "mode factor patience threshold threshold_mode cooldown min_lr eps",
};

void dn_sched_config_defaults (DnSchedConfig *cfg, DnSchedKind kind)
{
    g_return_if_fail (cfg != NULL);
    *cfg = (DnSchedConfig){
        .kind = kind,
        .step_size = 1,
        .gamma = 0.1,
        .n_milestones = 0,
        .t_max = 1,
        .eta_min = 0.0,
        .mode_max = FALSE,
        .factor = 0.1,
        .patience = 10,
        .threshold = 1e-4,
        .threshold_abs = FALSE,
        .cooldown = 0,
        .min_lr = 0.0,
        .eps = 1e-8,
    };
}

/* JSON helpers. `what` is "scheduler" or "scheduler state", the start of every message. */


static gboolean node_number (JsonNode *node, double *out)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
        return FALSE;
    GType t = json_node_get_value_type (node);
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return FALSE;
    *out = json_node_get_double (node);
    return isfinite (*out);
}

static gboolean node_int (JsonNode *node, int lo, int *out)
{
    double v;
    if (!node_number (node, &v) || v != floor (v) || v < lo || v > INT_MAX)
        return FALSE;
    *out = (int) v;
    return TRUE;
}

static gboolean fail (GError **error, const char *what, const char *field, const char *rule,
                      JsonNode *node)
{
    if (node == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "%s \"%s\" is missing; it must be %s", what,
                     field, rule);
    } else {
        g_autofree char *got = dn_json_describe (node);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "%s \"%s\" must be %s, got %s", what, field,
                     rule, got);
    }
    return FALSE;
}

/* A number member: absent keeps *out unless required; lo/hi bound it (hi_open: v < hi). */
static gboolean read_double (JsonObject *obj, const char *what, const char *field,
                             gboolean required, double lo, double hi, gboolean hi_open,
                             const char *rule, double *out, GError **error)
{
    JsonNode *node = json_object_get_member (obj, field);
    if (node == NULL)
        return required ? fail (error, what, field, rule, NULL) : TRUE;
    double v;
    if (!node_number (node, &v) || v < lo || v > hi || (hi_open && v >= hi))
        return fail (error, what, field, rule, node);
    *out = v;
    return TRUE;
}

static gboolean read_int (JsonObject *obj, const char *what, const char *field, gboolean required,
                          int lo, const char *rule, int *out, GError **error)
{
    JsonNode *node = json_object_get_member (obj, field);
    if (node == NULL)
        return required ? fail (error, what, field, rule, NULL) : TRUE;
    if (!node_int (node, lo, out))
        return fail (error, what, field, rule, node);
    return TRUE;
}

/* A string member that must be one of two words; *second is TRUE for the second. */
static gboolean read_choice (JsonObject *obj, const char *field, const char *first,
                             const char *second_word, gboolean *second, GError **error)
{
    JsonNode *node = json_object_get_member (obj, field);
    if (node == NULL)
        return TRUE;
    if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING) {
        const char *s = json_node_get_string (node);
        if (g_str_equal (s, first) || g_str_equal (s, second_word)) {
            *second = g_str_equal (s, second_word);
            return TRUE;
        }
    }
    g_autofree char *rule = g_strdup_printf ("\"%s\" or \"%s\"", first, second_word);
    return fail (error, "scheduler", field, rule, node);
}

static int compare_int (const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b;
    return (x > y) - (x < y);
}

static gboolean read_milestones (JsonObject *obj, DnSchedConfig *c, GError **error)
{
    const char *rule = "an array of epoch numbers >= 1, e.g. [30, 80]";
    JsonNode *node = json_object_get_member (obj, "milestones");
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
        return fail (error, "scheduler", "milestones", rule, node);
    JsonArray *a = json_node_get_array (node);
    guint len = json_array_get_length (a);
    if (len > DN_SCHED_MAX_MILESTONES) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "scheduler \"milestones\" holds at most %d epochs, got %u; merge some",
                     DN_SCHED_MAX_MILESTONES, len);
        return FALSE;
    }
    for (guint i = 0; i < len; i++) {
        JsonNode *el = json_array_get_element (a, i);
        if (!node_int (el, 1, &c->milestones[i])) {
            g_autofree char *got = dn_json_describe (el);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "scheduler \"milestones\"[%u] must be an epoch number >= 1, got %s", i,
                         got);
            return FALSE;
        }
    }
    /* PyTorch counts milestones as a multiset: order does not matter, a repeat
     * multiplies by gamma twice. Sorted here so the config reads increasing. */
    qsort (c->milestones, len, sizeof (int), compare_int);
    c->n_milestones = (int) len;
    return TRUE;
}

static gboolean field_applies (DnSchedKind kind, const char *name)
{
    g_auto (GStrv) fields = g_strsplit (kind_fields[kind], " ", -1);
    return g_strv_contains ((const char *const *) fields, name);
}

static gboolean check_members (JsonObject *obj, DnSchedKind kind, GError **error)
{
    g_autoptr (GList) members = json_object_get_members (obj);
    for (GList *l = members; l != NULL; l = l->next) {
        const char *name = l->data;
        if (g_str_equal (name, "type") || field_applies (kind, name))
            continue;
        GString *owners = g_string_new (NULL);
        for (int k = 0; k < N_KINDS; k++) {
            if (field_applies ((DnSchedKind) k, name))
                g_string_append_printf (owners, "%s\"%s\"", owners->len ? ", " : "", kind_names[k]);
        }
        if (owners->len > 0) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "scheduler \"%s\" does not apply to \"%s\"; remove it (it is a "
                         "setting of %s)",
                         name, kind_names[kind], owners->str);
        } else if (kind_fields[kind][0] == '\0') {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "scheduler field \"%s\" is unknown; \"%s\" reads only \"type\"", name,
                         kind_names[kind]);
        } else {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "scheduler field \"%s\" is unknown; \"%s\" reads \"type\" and: %s", name,
                         kind_names[kind], kind_fields[kind]);
        }
        g_string_free (owners, TRUE);
        return FALSE;
    }
    return TRUE;
}

static gboolean kind_from_name (const char *s, DnSchedKind *kind)
{
    for (int k = 0; k < N_KINDS; k++) {
        if (g_ascii_strcasecmp (s, kind_names[k]) == 0 ||
            g_ascii_strcasecmp (s, torch_names[k]) == 0) {
            *kind = (DnSchedKind) k;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean read_kind (JsonObject *obj, const char *what, DnSchedKind *kind, GError **error)
{
    const char *rule = "one of \"none\", \"step\", \"multistep\", \"exponential\", \"cosine\", "
                       "\"plateau\"";
    JsonNode *node = json_object_get_member (obj, "type");
    if (node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
        json_node_get_value_type (node) == G_TYPE_STRING &&
        kind_from_name (json_node_get_string (node), kind))
        return TRUE;
    return fail (error, what, "type", rule, node);
}

gboolean dn_sched_config_from_json (JsonObject *obj, DnSchedConfig *cfg, GError **error)
{
    g_return_val_if_fail (cfg != NULL, FALSE);
    g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

    DnSchedConfig c;
    if (obj == NULL) {
        dn_sched_config_defaults (cfg, DN_SCHED_NONE);
        return TRUE;
    }
    DnSchedKind kind;
    if (!read_kind (obj, "scheduler", &kind, error) || !check_members (obj, kind, error))
        return FALSE;
    dn_sched_config_defaults (&c, kind);

    const char *S = "scheduler";
    gboolean ok = TRUE;
    switch (kind) {
    case DN_SCHED_NONE:
        break;
    case DN_SCHED_STEP:
        ok = read_int (obj, S, "step_size", TRUE, 1, "a whole number of epochs >= 1", &c.step_size,
                       error) &&
             read_double (obj, S, "gamma", FALSE, 0.0, HUGE_VAL, FALSE, "a number >= 0", &c.gamma,
                          error);
        break;
    case DN_SCHED_MULTISTEP:
        ok = read_milestones (obj, &c, error) &&
             read_double (obj, S, "gamma", FALSE, 0.0, HUGE_VAL, FALSE, "a number >= 0", &c.gamma,
                          error);
        break;
    case DN_SCHED_EXPONENTIAL:
        ok = read_double (obj, S, "gamma", TRUE, 0.0, HUGE_VAL, FALSE, "a number >= 0, e.g. 0.95",
                          &c.gamma, error);
        break;
    case DN_SCHED_COSINE:
        ok =
            read_int (obj, S, "T_max", TRUE, 1, "a whole number of epochs >= 1", &c.t_max, error) &&
            read_double (obj, S, "eta_min", FALSE, 0.0, HUGE_VAL, FALSE, "a number >= 0",
                         &c.eta_min, error);
        break;
    case DN_SCHED_PLATEAU:
        ok = read_choice (obj, "mode", "min", "max", &c.mode_max, error) &&
             read_double (obj, S, "factor", FALSE, 0.0, 1.0, TRUE, "a number in [0, 1)", &c.factor,
                          error) &&
             read_int (obj, S, "patience", FALSE, 0, "a whole number of epochs >= 0", &c.patience,
                       error) &&
             read_double (obj, S, "threshold", FALSE, 0.0, HUGE_VAL, FALSE, "a number >= 0",
                          &c.threshold, error) &&
             read_choice (obj, "threshold_mode", "rel", "abs", &c.threshold_abs, error) &&
             read_int (obj, S, "cooldown", FALSE, 0, "a whole number of epochs >= 0", &c.cooldown,
                       error) &&
             read_double (obj, S, "min_lr", FALSE, 0.0, HUGE_VAL, FALSE, "a number >= 0", &c.min_lr,
                          error) &&
             read_double (obj, S, "eps", FALSE, 0.0, HUGE_VAL, FALSE, "a number >= 0", &c.eps,
                          error);
        break;
    }
    if (!ok)
        return FALSE;
    *cfg = c;
    return TRUE;
}

static void add_double (JsonBuilder *b, const char *name, double v)
{
    json_builder_set_member_name (b, name);
    json_builder_add_double_value (b, v);
}

static void add_int (JsonBuilder *b, const char *name, gint64 v)
{
    json_builder_set_member_name (b, name);
    json_builder_add_int_value (b, v);
}

void dn_sched_config_to_json (const DnSchedConfig *cfg, JsonBuilder *b)
{
    g_return_if_fail (cfg != NULL && b != NULL);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "type");
    json_builder_add_string_value (b, kind_names[cfg->kind]);
    switch (cfg->kind) {
    case DN_SCHED_NONE:
        break;
    case DN_SCHED_STEP:
        add_int (b, "step_size", cfg->step_size);
        add_double (b, "gamma", cfg->gamma);
        break;
    case DN_SCHED_MULTISTEP:
        json_builder_set_member_name (b, "milestones");
        json_builder_begin_array (b);
        for (int i = 0; i < cfg->n_milestones; i++)
            json_builder_add_int_value (b, cfg->milestones[i]);
        json_builder_end_array (b);
        add_double (b, "gamma", cfg->gamma);
        break;
    case DN_SCHED_EXPONENTIAL:
        add_double (b, "gamma", cfg->gamma);
        break;
    case DN_SCHED_COSINE:
        add_int (b, "T_max", cfg->t_max);
        add_double (b, "eta_min", cfg->eta_min);
        break;
    case DN_SCHED_PLATEAU:
        json_builder_set_member_name (b, "mode");
        json_builder_add_string_value (b, cfg->mode_max ? "max" : "min");
        add_double (b, "factor", cfg->factor);
        add_int (b, "patience", cfg->patience);
        add_double (b, "threshold", cfg->threshold);
        json_builder_set_member_name (b, "threshold_mode");
        json_builder_add_string_value (b, cfg->threshold_abs ? "abs" : "rel");
        add_int (b, "cooldown", cfg->cooldown);
        add_double (b, "min_lr", cfg->min_lr);
        add_double (b, "eps", cfg->eps);
        break;
    }
    json_builder_end_object (b);
}

/* The scheduler. */

struct _DnScheduler {
    DnSchedConfig cfg;
    double base_lr;
    double lr;    /* the rate for the current epoch */
    gint64 epoch; /* PyTorch's last_epoch: steps taken so far */
    /* ReduceLROnPlateau */
    double best; /* +inf (min) or -inf (max) until the first metric */
    int num_bad_epochs;
    int cooldown_counter;
};

static double plateau_worst (const DnSchedConfig *cfg)
{
    return cfg->mode_max ? -INFINITY : INFINITY;
}

DnScheduler *dn_scheduler_new (const DnSchedConfig *cfg, double base_lr)
{
    g_return_val_if_fail (cfg != NULL, NULL);
    g_return_val_if_fail ((int) cfg->kind >= 0 && (int) cfg->kind < N_KINDS, NULL);
    g_return_val_if_fail (cfg->kind != DN_SCHED_STEP || cfg->step_size >= 1, NULL);
    g_return_val_if_fail (cfg->kind != DN_SCHED_COSINE || cfg->t_max >= 1, NULL);
    g_return_val_if_fail (cfg->n_milestones >= 0 && cfg->n_milestones <= DN_SCHED_MAX_MILESTONES,
                          NULL);

    DnScheduler *s = g_new0 (DnScheduler, 1);
    s->cfg = *cfg;
    s->base_lr = base_lr;
    s->lr = base_lr;
    s->epoch = 0;
    s->best = plateau_worst (cfg);
    return s;
}

void dn_scheduler_free (DnScheduler *s)
{
    g_free (s);
}

DnScheduler *dn_scheduler_copy (const DnScheduler *s)
{
    g_return_val_if_fail (s != NULL, NULL);
    return g_memdup2 (s, sizeof *s);
}

double dn_scheduler_lr (const DnScheduler *s)
{
    g_return_val_if_fail (s != NULL, 0.0);
    return s->lr;
}

/* CosineAnnealingLR.get_lr for the epoch just reached (t >= 1). */
static double cosine_next (const DnScheduler *s, gint64 t)
{
    const double T = s->cfg.t_max, eta_min = s->cfg.eta_min;
    if ((t - 1 - s->cfg.t_max) % (2 * (gint64) s->cfg.t_max) == 0)
        return s->lr + (s->base_lr - eta_min) * (1.0 - cos (G_PI / T)) / 2.0;
    return (1.0 + cos (G_PI * (double) t / T)) / (1.0 + cos (G_PI * (double) (t - 1) / T)) *
               (s->lr - eta_min) +
           eta_min;
}

static gboolean plateau_is_better (const DnScheduler *s, double a)
{
    const DnSchedConfig *c = &s->cfg;
    if (!c->mode_max && !c->threshold_abs)
        return a < s->best * (1.0 - c->threshold);
    if (!c->mode_max)
        return a < s->best - c->threshold;
    if (!c->threshold_abs)
        return a > s->best * (c->threshold + 1.0);
    return a > s->best + c->threshold;
}

static void plateau_step (DnScheduler *s, double metric)
{
    const DnSchedConfig *c = &s->cfg;
    if (plateau_is_better (s, metric)) {
        s->best = metric;
        s->num_bad_epochs = 0;
    } else {
        s->num_bad_epochs++;
    }
    if (s->cooldown_counter > 0) {
        s->cooldown_counter--;
        s->num_bad_epochs = 0; /* bad epochs in cooldown do not count */
    }
    if (s->num_bad_epochs > c->patience) {
        double new_lr = MAX (s->lr * c->factor, c->min_lr);
        /* A reduction smaller than eps is not worth making. */
        if (s->lr - new_lr > c->eps)
            s->lr = new_lr;
        s->cooldown_counter = c->cooldown;
        s->num_bad_epochs = 0;
    }
}

void dn_scheduler_step (DnScheduler *s, double metric)
{
    g_return_if_fail (s != NULL);
    const DnSchedConfig *c = &s->cfg;
    s->epoch++;
    switch (c->kind) {
    case DN_SCHED_NONE:
        break;
    case DN_SCHED_STEP:
        if (s->epoch % c->step_size == 0)
            s->lr *= c->gamma;
        break;
    case DN_SCHED_MULTISTEP: {
        int count = 0;
        for (int i = 0; i < c->n_milestones; i++)
            count += c->milestones[i] == s->epoch;
        if (count > 0)
            s->lr *= pow (c->gamma, count);
        break;
    }
    case DN_SCHED_EXPONENTIAL:
        s->lr *= c->gamma;
        break;
    case DN_SCHED_COSINE:
        s->lr = cosine_next (s, s->epoch);
        break;
    case DN_SCHED_PLATEAU:
        plateau_step (s, metric);
        break;
    }
}

/* State: {"type", "epoch", "lr", "base_lr"} and, for "plateau", "best" (null
 * until the first metric), "num_bad_epochs", "cooldown_counter". */
void dn_scheduler_state_to_json (const DnScheduler *s, JsonBuilder *b)
{
    g_return_if_fail (s != NULL && b != NULL);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "type");
    json_builder_add_string_value (b, kind_names[s->cfg.kind]);
    add_int (b, "epoch", s->epoch);
    add_double (b, "lr", s->lr);
    add_double (b, "base_lr", s->base_lr);
    if (s->cfg.kind == DN_SCHED_PLATEAU) {
        json_builder_set_member_name (b, "best");
        if (isfinite (s->best))
            json_builder_add_double_value (b, s->best);
        else
            json_builder_add_null_value (b);
        add_int (b, "num_bad_epochs", s->num_bad_epochs);
        add_int (b, "cooldown_counter", s->cooldown_counter);
    }
    json_builder_end_object (b);
}

gboolean dn_scheduler_state_from_json (DnScheduler *s, JsonObject *obj, GError **error)
{
    g_return_val_if_fail (s != NULL, FALSE);
    g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
    const char *W = "scheduler state";
    if (obj == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "scheduler state is missing; resume from a checkpoint that has one");
        return FALSE;
    }
    DnSchedKind kind;
    if (!read_kind (obj, W, &kind, error))
        return FALSE;
    if (kind != s->cfg.kind) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "scheduler state is for \"%s\" but the scheduler is \"%s\"; resume with the "
                     "scheduler settings the run was saved with",
                     kind_names[kind], kind_names[s->cfg.kind]);
        return FALSE;
    }

    DnScheduler t = *s;
    int epoch = 0;
    const char *ge0 = "a number >= 0";
    if (!read_int (obj, W, "epoch", TRUE, 0, "a whole number >= 0", &epoch, error) ||
        !read_double (obj, W, "lr", TRUE, 0.0, HUGE_VAL, FALSE, ge0, &t.lr, error) ||
        !read_double (obj, W, "base_lr", TRUE, 0.0, HUGE_VAL, FALSE, ge0, &t.base_lr, error))
        return FALSE;
    t.epoch = epoch;

    if (kind == DN_SCHED_PLATEAU) {
        JsonNode *node = json_object_get_member (obj, "best");
        if (node != NULL && JSON_NODE_HOLDS_NULL (node))
            t.best = plateau_worst (&s->cfg);
        else if (!read_double (obj, W, "best", TRUE, -HUGE_VAL, HUGE_VAL, FALSE,
                               "a number, or null before the first epoch", &t.best, error))
            return FALSE;
        if (!read_int (obj, W, "num_bad_epochs", TRUE, 0, "a whole number >= 0", &t.num_bad_epochs,
                       error) ||
            !read_int (obj, W, "cooldown_counter", TRUE, 0, "a whole number >= 0",
                       &t.cooldown_counter, error))
            return FALSE;
    }
    *s = t;
    return TRUE;
}
