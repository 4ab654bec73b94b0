/* dn-templates.h: the experiments of the examples folder (data/examples,
 * data/examples/results, and two of data/examples/continual: Active Dendrites
 * and its 3-layer MLP baseline on 10 permuted tasks), offered as templates with
 * titles people read.
 * A template opens as a new, unsaved experiment. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
    char *id; /* "mnist-cnn", "results/cnn-narrow-dendrites", "continual/prototype_10" */
    char *path;
    char *title; /* "MNIST CNN" */
    char *description;
} DnTemplate;
/* Free with g_ptr_array_unref. */
GPtrArray *dn_templates_list (void);

G_END_DECLS
