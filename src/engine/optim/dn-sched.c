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

#include "dn-config-reader.h"
#include "dn-error.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

static const char *const kind_names[] = {
    [DN_SCHED_NONE] = "none",
    [DN_SCHED_STEP] = "step",
    [DN_SCHED_MULTISTEP] = "multistep",
    [DN_SCHED_EXPONENTIAL] = "exponential",
    [DN_SCHED_COSINE] = "cosine",
    [DN_SCHED_PLATEAU] = "plateau",
    NULL,
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

#define N_KINDS ((int) G_N_ELEMENTS (kind_names) - 1)

/* The fields each kind reads besides "type". */
static const char *const *const kind_fields[] = {
    [DN_SCHED_NONE] = (const char *const[]){NULL},
    [DN_SCHED_STEP] = (const char *const[]){"step_size", "gamma", NULL},
    [DN_SCHED_MULTISTEP] = (const char *const[]){"milestones", "gamma", NULL},
    [DN_SCHED_EXPONENTIAL] = (const char *const[]){"gamma", NULL},
    [DN_SCHED_COSINE] = (const char *const[]){"T_max", "eta_min", NULL},
    [DN_SCHED_PLATEAU] = (const char *const[]){"mode", "factor", "patience", "threshold",
                                               "threshold_mode", "cooldown", "min_lr", "eps", NULL},
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

static const char *const mode_names[] = {"min", "max", NULL};
static const char *const threshold_mode_names[] = {"rel", "abs", NULL};

/* A field whose value is one of two words; *second is TRUE for the second. */
static gboolean read_choice (DnFieldReader *r, const char *key, const char *const *words,
                             gboolean *second)
{
    int k = *second ? 1 : 0;
    if (!dn_fields_enum (r, key, words, NULL, &k))
        return FALSE;
    *second = k == 1;
    return TRUE;
}

static int compare_int (const void *a, const void *b)
{
    int x = *(const int *) a, y = *(const int *) b;
    return (x > y) - (x < y);
}

/* The kind's "type"; every message of `r` starts with what it reads. */
static gboolean read_kind (DnFieldReader *r, DnSchedKind *kind)
{
    const char *const *saved = r->required;
    r->required = (const char *const[]){"type", NULL};
    int k = 0;
    gboolean ok = dn_fields_enum (r, "type", kind_names, torch_names, &k);
    r->required = saved;
    *kind = (DnSchedKind) k;
    return ok;
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
    g_auto (DnFieldReader) r = dn_fields_reader (obj, NULL, "scheduler", 0, error);
    DnSchedKind kind;
    if (!read_kind (&r, &kind) ||
        !dn_fields_check_kind_keys (&r, "type", kind_names, kind_fields, kind))
        return FALSE;
    dn_sched_config_defaults (&c, kind);

    /* The arguments PyTorch requires. */
    static const char *const required[] = {"step_size", "milestones", "T_max", NULL};
    static const char *const required_gamma[] = {"gamma", NULL};
    r.required = kind == DN_SCHED_EXPONENTIAL ? required_gamma : required;
    const DnRange ge0 = {0.0, INFINITY}, unit = {0.0, 1.0, .max_open = TRUE};
    gboolean ok = TRUE;
    switch (kind) {
    case DN_SCHED_NONE:
        break;
    case DN_SCHED_STEP:
        ok = dn_fields_int (&r, "step_size", 1, G_MAXINT, &c.step_size) &&
             dn_fields_number_in (&r, "gamma", &ge0, &c.gamma);
        break;
    case DN_SCHED_MULTISTEP:
        ok = dn_fields_int_list (&r, "milestones", 1, G_MAXINT, 0, DN_SCHED_MAX_MILESTONES, FALSE,
                                 c.milestones, &c.n_milestones) &&
             dn_fields_number_in (&r, "gamma", &ge0, &c.gamma);
        /* PyTorch counts milestones as a multiset: order does not matter, a repeat
         * multiplies by gamma twice. Sorted here so the config reads increasing. */
        qsort (c.milestones, (size_t) c.n_milestones, sizeof (int), compare_int);
        break;
    case DN_SCHED_EXPONENTIAL:
        ok = dn_fields_number_in (&r, "gamma", &ge0, &c.gamma);
        break;
    case DN_SCHED_COSINE:
        ok = dn_fields_int (&r, "T_max", 1, G_MAXINT, &c.t_max) &&
             dn_fields_number_in (&r, "eta_min", &ge0, &c.eta_min);
        break;
    case DN_SCHED_PLATEAU:
        ok = read_choice (&r, "mode", mode_names, &c.mode_max) &&
             dn_fields_number_in (&r, "factor", &unit, &c.factor) &&
             dn_fields_int (&r, "patience", 0, G_MAXINT, &c.patience) &&
             dn_fields_number_in (&r, "threshold", &ge0, &c.threshold) &&
             read_choice (&r, "threshold_mode", threshold_mode_names, &c.threshold_abs) &&
             dn_fields_int (&r, "cooldown", 0, G_MAXINT, &c.cooldown) &&
             dn_fields_number_in (&r, "min_lr", &ge0, &c.min_lr) &&
             dn_fields_number_in (&r, "eps", &ge0, &c.eps);
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
    if (obj == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "scheduler state is missing; resume from a checkpoint that has one");
        return FALSE;
    }
    g_auto (DnFieldReader) r = dn_fields_reader (obj, NULL, "scheduler state", 0, error);
    DnSchedKind kind;
    if (!read_kind (&r, &kind))
        return FALSE;
    if (kind != s->cfg.kind) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "scheduler state is for \"%s\" but the scheduler is \"%s\"; resume with the "
                     "scheduler settings the run was saved with",
                     kind_names[kind], kind_names[s->cfg.kind]);
        return FALSE;
    }

    static const char *const required[] = {
        "epoch", "lr", "base_lr", "best", "num_bad_epochs", "cooldown_counter", NULL};
    r.required = required;
    DnScheduler t = *s;
    int epoch = 0;
    const DnRange ge0 = {0.0, INFINITY}, any = {-INFINITY, INFINITY};
    if (!dn_fields_int (&r, "epoch", 0, G_MAXINT, &epoch) ||
        !dn_fields_number_in (&r, "lr", &ge0, &t.lr) ||
        !dn_fields_number_in (&r, "base_lr", &ge0, &t.base_lr))
        return FALSE;
    t.epoch = epoch;

    if (kind == DN_SCHED_PLATEAU) {
        /* null before the first metric */
        JsonNode *node = json_object_get_member (obj, "best");
        if (node != NULL && JSON_NODE_HOLDS_NULL (node))
            t.best = plateau_worst (&s->cfg);
        else if (!dn_fields_number_in (&r, "best", &any, &t.best))
            return FALSE;
        if (!dn_fields_int (&r, "num_bad_epochs", 0, G_MAXINT, &t.num_bad_epochs) ||
            !dn_fields_int (&r, "cooldown_counter", 0, G_MAXINT, &t.cooldown_counter))
            return FALSE;
    }
    *s = t;
    return TRUE;
}
