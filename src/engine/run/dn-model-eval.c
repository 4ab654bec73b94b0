/* dn-model-eval.c: a model file scored on a dataset (dn-model-eval.h). */
#include "dn-model-eval.h"

#include "dn-backend.h"
#include "dn-error.h"
#include "dn-model.h"
#include "dn-train-private.h"

#include <json-glib/json-glib.h>

void dn_model_evaluation_free (DnModelEvaluation *e)
{
    if (e == NULL)
        return;
    dn_confusion_free (e->confusion);
    g_strfreev (e->class_names);
    g_free (e->data_source);
    g_free (e);
}

/* A CSV file is read through the classes the model stores, so a label gets the
 * number it had in training; models written before the list was stored number
 * this file's labels on their own. */
DnDataset *dn_model_load_eval_data (const char *path, GHashTable *metadata, GError **error)
{
    if (g_file_test (path, G_FILE_TEST_IS_DIR))
        return dn_dataset_load_idx_dir (path, "test", error);
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    DnClassList classes = {0};
    g_autofree char *column = NULL;
    const char *stored =
        metadata != NULL ? g_hash_table_lookup (metadata, "dendrite_classes") : NULL;
    if (stored != NULL) {
        if (!dn_class_list_from_json (stored, &classes, &column, error))
            return NULL;
        opts.classes = &classes;
        opts.label_name = column;
    }
    DnDataset *d = dn_dataset_load_csv (path, &opts, error);
    dn_class_list_clear (&classes);
    return d;
}

/* dn_model_load has checked that "dendrite_training" is a JSON object; a loss it does
 * not name (an older or foreign model) is cross-entropy, the default. */
DnLossKind dn_model_loss_kind (GHashTable *metadata)
{
    const char *t = metadata != NULL ? g_hash_table_lookup (metadata, "dendrite_training") : NULL;
    g_autoptr (JsonNode) root = t != NULL ? json_from_string (t, NULL) : NULL;
    JsonNode *loss = root != NULL && JSON_NODE_HOLDS_OBJECT (root)
                         ? json_object_get_member (json_node_get_object (root), "loss")
                         : NULL;
    if (loss == NULL || !JSON_NODE_HOLDS_VALUE (loss) ||
        json_node_get_value_type (loss) != G_TYPE_STRING)
        return DN_LOSS_CROSS_ENTROPY;
    for (int k = DN_LOSS_CROSS_ENTROPY; k <= DN_LOSS_BCE_LOGITS; k++)
        if (g_str_equal (json_node_get_string (loss), dn_loss_kind_name (k)))
            return (DnLossKind) k;
    return DN_LOSS_CROSS_ENTROPY;
}

gboolean dn_model_check_data (DnNetwork *net, const DnDataset *data, const char *what,
                              GError **error)
{
    const char *source = data->source != NULL ? data->source : "the data";
    if (dn_shape_numel (&data->shape) != dn_shape_numel (&net->input_shape)) {
        g_autofree char *a = dn_shape_to_string (&data->shape);
        g_autofree char *b = dn_shape_to_string (&net->input_shape);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "the samples in %s are %s but the model %s takes %s; evaluate it on data "
                     "of the shape it was trained on",
                     source, a, what, b);
        return FALSE;
    }
    DnShape out = dn_network_output_shape (net);
    if (out.ndim != 1 || out.d[0] < data->n_classes) {
        g_autofree char *a = dn_shape_to_string (&out);
        g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                     "%s has %d classes but the model %s gives %s outputs; evaluate it on data "
                     "with the classes it was trained on",
                     source, data->n_classes, what, a);
        return FALSE;
    }
    return TRUE;
}

/* Loads the model and its settings; a continual model is refused. */
static DnNetwork *load_model (const char *path, GHashTable **meta, DnNormalize *norm,
                              gboolean *has_norm, GError **error)
{
    g_autoptr (DnNetwork) net = dn_model_load (path, dn_backend_cpu (), meta, error);
    if (net == NULL || !dn_model_normalize (*meta, net, path, norm, has_norm, error))
        return NULL;
    if (dn_network_context_dim (net) > 0 || g_hash_table_contains (*meta, "dendrite_continual")) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s is a continual model, scored task by task; evaluate it with "
                     "`dendrite eval`",
                     path);
        return NULL;
    }
    return g_steal_pointer (&net);
}

static DnModelEvaluation *evaluate (DnNetwork *net, GHashTable *meta, const char *path,
                                    const DnDataset *data, const DnNormalize *norm,
                                    gboolean has_norm, int batch_size, GError **error)
{
    if (!dn_model_check_data (net, data, path, error))
        return NULL;
    g_autoptr (DnModelEvaluation) e = g_new0 (DnModelEvaluation, 1);
    if (!dn_evaluate_confusion (net, data, norm, dn_model_loss_kind (meta), batch_size,
                                &e->accuracy, &e->loss, &e->confusion, error))
        return NULL;
    if (e->confusion == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s holds no samples to evaluate on",
                     data->source != NULL ? data->source : "the data");
        return NULL;
    }
    e->samples = data->n;
    e->class_names = g_strdupv (data->class_names);
    e->data_source = g_strdup (data->source);
    e->normalized = has_norm;
    return g_steal_pointer (&e);
}

DnModelEvaluation *dn_model_evaluate_file (const char *model_path, const char *data_path,
                                           int batch_size, GError **error)
{
    g_autoptr (GHashTable) meta = NULL;
    DnNormalize norm;
    gboolean has_norm = FALSE;
    g_autoptr (DnNetwork) net = load_model (model_path, &meta, &norm, &has_norm, error);
    if (net == NULL)
        return NULL;
    g_autoptr (DnDataset) data = dn_model_load_eval_data (data_path, meta, error);
    if (data == NULL)
        return NULL;
    return evaluate (net, meta, model_path, data, &norm, has_norm, batch_size, error);
}

DnModelEvaluation *dn_model_evaluate_experiment (const char *model_path, DnExperiment *exp,
                                                 int batch_size, GError **error)
{
    g_autoptr (GHashTable) meta = NULL;
    DnNormalize norm;
    gboolean has_norm = FALSE;
    g_autoptr (DnNetwork) net = load_model (model_path, &meta, &norm, &has_norm, error);
    if (net == NULL)
        return NULL;
    DnRunOptions opts = {0};
    RunData d = {0};
    if (!dn_load_data (exp, &opts, exp->seed, NULL, &d, error))
        return NULL;
    DnModelEvaluation *e = NULL;
    if (d.test == NULL || d.test->n == 0)
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "the experiment %s has no test split to evaluate on; give it a test file or "
                     "a \"test_split\"",
                     exp->name != NULL ? exp->name : "");
    else
        e = evaluate (net, meta, model_path, d.test, &norm, has_norm, batch_size, error);
    dn_run_data_clear (&d);
    return e;
}
