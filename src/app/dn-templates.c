/* dn-templates.c: the example experiments offered as templates. */
#include "dn-templates.h"

#include "dn-paths.h"
#include "dn-experiment.h"

#include <glib/gi18n.h>
#include <string.h>

static void template_free (gpointer p)
{
    DnTemplate *t = p;
    g_free (t->id);
    g_free (t->path);
    g_free (t->title);
    g_free (t->description);
    g_free (t);
}

static const struct {
    const char *id;
    const char *title;
} known_templates[] = {
    {"mnist-cnn", N_ ("MNIST CNN")},
    {"mlp", N_ ("MLP")},
    {"resnet-small", N_ ("Residual CNN")},
    {"mlp-dendrites", N_ ("Narrow MLP with Dendrites")},
    {"mlp-pb", N_ ("Narrow MLP with Correlation-Trained Dendrites")},
    {"continual/prototype_10", N_ ("Active Dendrites (continual learning)")},
    {"continual/three_layer_mlp_10", N_ ("3-Layer MLP Baseline (continual learning)")},
    {"results/cnn-baseline", N_ ("CNN, Baseline (Results Table)")},
    {"results/cnn-dendrites", N_ ("CNN with Dendrites (Results Table)")},
    {"results/cnn-narrow-baseline", N_ ("Narrow CNN, Baseline")},
    {"results/cnn-narrow-dendrites", N_ ("Narrow CNN with Dendrites")},
    {"results/mlp-narrow-baseline", N_ ("Narrow MLP, Baseline")},
    {"results/mlp-narrow-dendrites", N_ ("Narrow MLP with Dendrites (Results Table)")},
};

static gboolean is_known (const char *id)
{
    for (guint k = 0; k < G_N_ELEMENTS (known_templates); k++)
        if (g_str_equal (known_templates[k].id, id))
            return TRUE;
    return FALSE;
}

/* known_only: only the files named in known_templates (the continual folder holds
 * 42 configurations; two of them are templates, the rest open as files) */
static void add_templates_from (GPtrArray *out, const char *dir, const char *prefix,
                                gboolean known_only)
{
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    if (d == NULL)
        return;
    const char *name;
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    while ((name = g_dir_read_name (d)) != NULL)
        if (g_str_has_suffix (name, ".json"))
            g_ptr_array_add (names, g_strdup (name));
    for (guint i = 0; i < names->len; i++) {
        const char *file = names->pdata[i];
        DnTemplate *t = g_new0 (DnTemplate, 1);
        g_autofree char *stem = g_strndup (file, strlen (file) - 5);
        t->id = prefix != NULL ? g_strdup_printf ("%s/%s", prefix, stem) : g_strdup (stem);
        if (known_only && !is_known (t->id)) {
            template_free (t);
            continue;
        }
        t->path = g_build_filename (dir, file, NULL);
        for (guint k = 0; k < G_N_ELEMENTS (known_templates); k++)
            if (g_str_equal (known_templates[k].id, t->id))
                t->title = g_strdup (_ (known_templates[k].title));
        if (t->title == NULL)
            t->title = g_strdup (stem);
        g_autoptr (DnExperiment) exp = dn_experiment_load (t->path, NULL);
        if (exp == NULL) {
            template_free (t);
            continue;
        }
        t->description = g_strdup (exp->description != NULL ? exp->description : "");
        g_ptr_array_add (out, t);
    }
}

static int template_rank (const DnTemplate *t)
{
    for (guint k = 0; k < G_N_ELEMENTS (known_templates); k++)
        if (g_str_equal (known_templates[k].id, t->id))
            return (int) k;
    return G_N_ELEMENTS (known_templates);
}

static int template_cmp (gconstpointer a, gconstpointer b)
{
    const DnTemplate *x = *(DnTemplate **) a, *y = *(DnTemplate **) b;
    int d = template_rank (x) - template_rank (y);
    return d != 0 ? d : g_strcmp0 (x->id, y->id);
}

GPtrArray *dn_templates_list (void)
{
    GPtrArray *out = g_ptr_array_new_with_free_func (template_free);
    g_autofree char *dir = dn_paths_examples_dir ();
    add_templates_from (out, dir, NULL, FALSE);
    g_autofree char *continual = g_build_filename (dir, "continual", NULL);
    add_templates_from (out, continual, "continual", TRUE);
    g_autofree char *results = g_build_filename (dir, "results", NULL);
    add_templates_from (out, results, "results", FALSE);
    g_ptr_array_sort (out, template_cmp);
    return out;
}
