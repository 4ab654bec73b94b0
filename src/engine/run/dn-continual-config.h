/* dn-continual-config.h: the "continual" section of an experiment: continual
 * learning on a sequence of permuted tasks (Numenta's Active Dendrites study;
 * docs/continual.md), and the arithmetic it adds (permutations, Synaptic
 * Intelligence); dn-continual.h runs one.
 *
 * An experiment with a "continual" section trains its network on T tasks made
 * from one image dataset: task 0 as it is, task t > 0 with a fixed pixel
 * permutation drawn from `permutation_seed`, all with one shared output head.
 * Each task trains for `epochs_per_task` epochs; after a task, the network is
 * evaluated on the test images of every task seen so far, which fills one row of
 * the accuracy matrix. The context that active dendrite layers read is the task's
 * prototype (the mean training image; at test time the nearest stored prototype,
 * so no task id is given), a one-hot task id, or none. Synaptic Intelligence can
 * regularise the optimizer step.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
    DN_CONTEXT_PROTOTYPE, /* mean training image of the task; nearest prototype at test time */
    DN_CONTEXT_TASK_ID,   /* one-hot task id, given at test time too */
    DN_CONTEXT_NONE,      /* no context (MLP baselines, k-WTA only) */
} DnContextKind;

#define DN_CONTINUAL_MAX_TASKS 1000

typedef struct {
    int tasks;                 /* T (2) */
    guint64 permutation_seed;  /* 42 */
    int epochs_per_task;       /* 1 */
    DnContextKind context;     /* prototype */
    gboolean reset_optimizer;  /* a fresh optimizer at every task boundary (TRUE) */
    gboolean drop_last;        /* drop the last partial training batch (TRUE) */
    int eval_batch_size;       /* 512 */
    int n_eval_after;          /* 0: after every task; else the 0-based tasks in eval_after */
    int *eval_after;
    /* Synaptic Intelligence (si = FALSE: off) */
    gboolean si;
    double si_c;          /* penalty strength (0.1) */
    double si_xi;         /* damping (0.1) */
    int si_first_task;    /* 0-based task from which the penalty applies (2, the reference's) */
    /* Hidden-unit activity per task (Figure 6) */
    char *activity_layer; /* node name; NULL: the last kwta (or relu) layer */
    int activity_samples; /* test images pooled over all tasks (5000) */
} DnContinualConfig;

void dn_continual_config_defaults (DnContinualConfig *cfg);
void dn_continual_config_clear (DnContinualConfig *cfg);
void dn_continual_config_copy (DnContinualConfig *dst, const DnContinualConfig *src);
/* Reads the "continual" section; unknown keys and bad values are errors naming them. */
gboolean dn_continual_config_from_json (JsonObject *obj, DnContinualConfig *cfg, const char *what,
                                        GError **error);
/* Writes the members of the section (every key, defaults included). */
void dn_continual_config_add_members (const DnContinualConfig *cfg, JsonBuilder *b);
const char *dn_context_kind_name (DnContextKind kind);

/* Task t's pixel permutation of n pixels (the identity for t = 0): in the permuted
 * image, pixel i holds original pixel perm[i]. Deterministic in (seed, t). */
void dn_continual_permutation (guint64 seed, int task, int n, int *perm);

/* Synaptic Intelligence on n parameters (Zenke et al. 2017, as the reference code):
 * penalty: returns c * sum Omega (theta - star)^2 and adds its gradient
 *   2 c Omega (theta - star) to grad;
 * after each optimizer step: omega -= grad * (theta - prev); prev = theta
 *   (grad is the total gradient of the step, penalty included);
 * at a task's end: Omega += relu(omega) / ((theta - star)^2 + xi); star = theta; omega = 0. */
double dn_si_penalty (size_t n, const float *theta, const float *star, const float *big_omega,
                      double c, float *grad);
void dn_si_accumulate (size_t n, const float *grad, const float *theta, float *prev, float *omega);
void dn_si_consolidate (size_t n, const float *theta, float *star, float *omega, float *big_omega,
                        double xi);

G_END_DECLS
