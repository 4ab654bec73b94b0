/* dn-experiment.c: reading and writing experiment files. */
#include "dn-experiment.h"
#include "dn-config-reader.h"
#include "dn-error.h"
#include "dn-json.h"
#include "dn-run-dir.h"

#include "dn-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

static const char *const format_names[] = {"idx", "csv", NULL};

static gboolean read_data (DnExperiment *exp, DnFieldReader *d, const char *what)
{
    static const char *const known[] = {
        "format",           "path",       "test_path", "label_column",
        "validation_split", "test_split", "normalize", NULL};
    int format = -1;
    if (!dn_fields_check_keys (d, known) ||
        !dn_fields_enum (d, "format", format_names, NULL, &format) ||
        !dn_fields_string (d, "path", &exp->data_path) ||
        !dn_fields_string (d, "test_path", &exp->test_path) ||
        !dn_fields_string (d, "label_column", &exp->label_column) ||
        !dn_fields_number (d, "validation_split", 0.0, 0.9, &exp->val_fraction) ||
        !dn_fields_number (d, "test_split", 0.0, 0.9, &exp->test_fraction))
        return FALSE;
    if (format >= 0) {
        g_free (exp->data_format);
        exp->data_format = g_strdup (format_names[format]);
    }
    JsonNode *n = dn_fields_member (d, "normalize");
    if (n == NULL)
        return TRUE;
    if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
        const char *s = json_node_get_string (n);
        if (g_str_equal (s, "dataset")) {
            exp->normalize_from_data = TRUE;
            return TRUE;
        }
        if (g_str_equal (s, "none")) {
            exp->normalize_from_data = FALSE;
            exp->normalize.n_channels = 1;
            exp->normalize.mean[0] = 0.0f;
            exp->normalize.std[0] = 1.0f;
            return TRUE;
        }
    } else if (JSON_NODE_HOLDS_OBJECT (n)) {
        if (!dn_normalize_from_json (n, &exp->normalize, what, d->error))
            return FALSE;
        exp->normalize_from_data = FALSE;
        return TRUE;
    }
    return dn_fields_fail (d, "normalize",
                           "\"dataset\" (mean and std of the training set), \"none\", or "
                           "{\"mean\": [0.1307], \"std\": [0.3081]} with one value per channel");
}

static gboolean read_dendrites (DnExperiment *exp, JsonNode *n, const char *what, GError **error)
{
    if (!JSON_NODE_HOLDS_OBJECT (n)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s: \"dendrites\" must be an object of settings ({} for the defaults)", what);
        return FALSE;
    }
    JsonObject *o = json_node_get_object (n);
    /* One object holds the tracker's settings and the layer selection; each
     * module reads its own keys, and a key neither knows is an error. */
    g_autoptr (JsonObject) tracker_part = json_object_new ();
    g_autoptr (GList) members = json_object_get_members (o);
    for (GList *m = members; m != NULL; m = m->next) {
        const char *key = m->data;
        if (dn_dendrite_selection_key (key))
            continue;
        if (!dn_tracker_config_owns_key (key)) {
            g_autofree char *q = dn_quote (key);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "%s: unknown setting %s in \"dendrites\"; see "
                         "docs/experiment-format.md for the settings",
                         what, q);
            return FALSE;
        }
        json_object_set_member (tracker_part, key,
                                json_node_copy (json_object_get_member (o, key)));
    }
    g_autoptr (GError) local = NULL;
    if (!dn_tracker_config_from_json (tracker_part, &exp->tracker, &local) ||
        !dn_dendrite_selection_from_json (o, &exp->selection, &local)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "%s: %s", what, local->message);
        return FALSE;
    }
    exp->dendrites = TRUE;
    return TRUE;
}

static const char *const loss_names[] = {"cross_entropy", "nll", "mse", "bce_with_logits", NULL};

const char *dn_loss_kind_name (DnLossKind kind)
{
    return loss_names[kind];
}

static const char *const device_names[] = {"cpu", "cuda", "auto", NULL};

/* The optimizer's and scheduler's own messages, after the place they come from. */
static gboolean wrap_section_error (GError *local, const char *what, const char *section,
                                    GError **error)
{
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "%s: training.%s: %s", what, section,
                 local->message);
    g_error_free (local);
    return FALSE;
}

static gboolean read_training (DnExperiment *exp, DnFieldReader *t, const char *what)
{
    static const char *const known[] = {"optimizer",  "scheduler", "loss", "label_smoothing",
                                        "batch_size", "epochs",    "seed", "device",
                                        NULL};
    DnFieldReader o, s;
    if (!dn_fields_check_keys (t, known) || !dn_fields_object (t, "optimizer", &o) ||
        !dn_fields_object (t, "scheduler", &s))
        return FALSE;
    GError *local = NULL;
    if (o.obj != NULL && !dn_optim_config_from_json (o.obj, &exp->optim, &local))
        return wrap_section_error (local, what, "optimizer", t->error);
    if (s.obj != NULL) {
        if (!dn_sched_config_from_json (s.obj, &exp->sched, &local))
            return wrap_section_error (local, what, "scheduler", t->error);
        if (exp->sched.kind == DN_SCHED_PLATEAU && !json_object_has_member (s.obj, "mode"))
            exp->sched.mode_max = TRUE; /* the metric it reads is an accuracy */
    }
    int loss = exp->loss, device = -1;
    gint64 seed = (gint64) exp->seed;
    if (!dn_fields_enum (t, "loss", loss_names, NULL, &loss) ||
        !dn_fields_number (t, "label_smoothing", 0.0, 1.0, &exp->label_smoothing) ||
        !dn_fields_int (t, "batch_size", 1, 1 << 20, &exp->batch_size) ||
        !dn_fields_int (t, "epochs", 1, 1000000, &exp->epochs) ||
        !dn_fields_int64 (t, "seed", 0, G_MAXINT64, &seed) ||
        !dn_fields_enum (t, "device", device_names, NULL, &device))
        return FALSE;
    exp->loss = (DnLossKind) loss;
    exp->seed = (guint64) seed;
    if (device >= 0) {
        g_free (exp->device);
        exp->device = g_strdup (device_names[device]);
    }
    return TRUE;
}

DnExperiment *dn_experiment_new_default (void)
{
    DnExperiment *exp = g_new0 (DnExperiment, 1);
    exp->name = g_strdup ("experiment");
    exp->data_format = g_strdup ("idx");
    exp->val_fraction = 0.1;
    exp->test_fraction = 0.2;
    exp->normalize_from_data = TRUE;
    dn_optim_config_defaults (&exp->optim, DN_OPTIM_ADAM);
    dn_sched_config_defaults (&exp->sched, DN_SCHED_NONE);
    exp->loss = DN_LOSS_CROSS_ENTROPY;
    exp->batch_size = 64;
    exp->epochs = 10;
    exp->seed = 1;
    exp->device = g_strdup ("cpu");
    exp->out_dir = g_strdup ("runs");
    dn_tracker_config_defaults (&exp->tracker);
    dn_dendrite_selection_init (&exp->selection);
    dn_continual_config_defaults (&exp->cl);
    return exp;
}

DnExperiment *dn_experiment_from_json (JsonNode *root, const char *base_dir, const char *what,
                                       GError **error)
{
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s: an experiment is a JSON object with \"data\", \"network\", "
                     "\"training\" and \"output\"",
                     what);
        return NULL;
    }
    JsonObject *o = json_node_get_object (root);
    static const char *const known[] = {"name",     "description", "data",      "network",
                                        "training", "output",      "dendrites", "continual",
                                        NULL};
    g_autoptr (DnExperiment) exp = dn_experiment_new_default ();
    exp->base_dir = g_strdup (base_dir ? base_dir : ".");
    g_auto (DnFieldReader) top =
        dn_fields_reader (o, what, "(top level)", DN_FIELDS_NULL_IS_ABSENT, error);
    if (!dn_fields_check_keys (&top, known) || !dn_fields_string (&top, "name", &exp->name) ||
        !dn_fields_string (&top, "description", &exp->description))
        return NULL;
    g_autofree char *name_what = g_strdup_printf ("%s: \"name\"", what);
    if (!dn_check_name (exp->name, TRUE, name_what, error))
        return NULL;
    JsonNode *dn = dn_fields_member (&top, "dendrites");
    if (dn != NULL && !read_dendrites (exp, dn, what, error))
        return NULL;
    JsonNode *cn = dn_fields_member (&top, "continual");
    if (cn != NULL) {
        if (!JSON_NODE_HOLDS_OBJECT (cn)) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "%s: \"continual\" must be an object such as {\"tasks\": 10}", what);
            return NULL;
        }
        if (!dn_continual_config_from_json (json_node_get_object (cn), &exp->cl, what, error))
            return NULL;
        exp->continual = TRUE;
    }
    if (exp->continual && exp->dendrites) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s: an experiment has either a \"dendrites\" section (Perforated AI "
                     "dendrites) or a \"continual\" section (active dendrites), not both",
                     what);
        return NULL;
    }
    DnFieldReader data, training, output;
    if (!dn_fields_object (&top, "data", &data) || !read_data (exp, &data, what) ||
        !dn_fields_object (&top, "training", &training) || !read_training (exp, &training, what) ||
        !dn_fields_object (&top, "output", &output) ||
        !dn_fields_check_keys (&output, (const char *const[]){"dir", NULL}) ||
        !dn_fields_string (&output, "dir", &exp->out_dir))
        return NULL;
    JsonNode *net = json_object_get_member (o, "network");
    if (net == NULL || !JSON_NODE_HOLDS_OBJECT (net)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s: \"network\" is missing; it needs \"input\" (the shape of one sample) "
                     "and \"layers\"",
                     what);
        return NULL;
    }
    exp->network = json_node_copy (net);
    return g_steal_pointer (&exp);
}

/* Reads at most `limit` bytes of any file, pipe or device: a file that is larger
 * is refused as soon as the limit is passed, rather than read through first. */
static char *read_bounded (const char *path, gsize limit, gsize *len, GError **error)
{
    int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        int err = errno;
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "Could not open %s: %s", path, g_strerror (err));
        return NULL;
    }
    GString *buf = g_string_sized_new (4096);
    char chunk[65536];
    for (;;) {
        gssize got = read (fd, chunk, sizeof chunk);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int err = errno;
            g_set_error (error, DN_ERROR, DN_ERROR_IO, "Could not read %s: %s", path,
                         g_strerror (err));
            break;
        }
        if (got == 0) {
            close (fd);
            *len = buf->len;
            return g_string_free (buf, FALSE);
        }
        if (buf->len + (gsize) got > limit) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s is larger than %" G_GSIZE_FORMAT
                         " MB, the limit for an experiment file; it is not an experiment (an "
                         "experiment names its data files rather than holding them)",
                         path, limit / (1024 * 1024));
            break;
        }
        g_string_append_len (buf, chunk, got);
    }
    close (fd);
    g_string_free (buf, TRUE);
    return NULL;
}

DnExperiment *dn_experiment_load (const char *path, GError **error)
{
    gsize len = 0;
    g_autofree char *text = read_bounded (path, DN_EXPERIMENT_MAX_BYTES, &len, error);
    if (text == NULL)
        return NULL;
    g_autoptr (JsonNode) root = dn_json_parse (text, (gssize) len, path, error);
    if (root == NULL)
        return NULL;
    g_autofree char *dir = g_path_get_dirname (path);
    g_autoptr (DnExperiment) exp = dn_experiment_from_json (root, dir, path, error);
    if (exp != NULL && json_object_get_member (json_node_get_object (root), "name") == NULL) {
        g_autofree char *base = g_path_get_basename (path);
        char *dot = strrchr (base, '.');
        if (dot != NULL)
            *dot = '\0';
        g_free (exp->name);
        exp->name = g_strdup (base);
        /* the file's name becomes the run folder's name */
        g_autofree char *name_what = g_strdup_printf (
            "%s: the run's name (the file's name, as the file sets no \"name\")", path);
        if (!dn_check_name (exp->name, TRUE, name_what, error))
            return NULL;
    }
    return g_steal_pointer (&exp);
}

static void add_string (JsonBuilder *b, const char *key, const char *value)
{
    json_builder_set_member_name (b, key);
    if (value != NULL)
        json_builder_add_string_value (b, value);
    else
        json_builder_add_null_value (b);
}

JsonNode *dn_experiment_to_json (const DnExperiment *exp)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    add_string (b, "name", exp->name);
    if (exp->description != NULL)
        add_string (b, "description", exp->description);

    json_builder_set_member_name (b, "data");
    json_builder_begin_object (b);
    add_string (b, "format", exp->data_format);
    add_string (b, "path", exp->data_path);
    if (exp->test_path != NULL)
        add_string (b, "test_path", exp->test_path);
    if (exp->label_column != NULL)
        add_string (b, "label_column", exp->label_column);
    json_builder_set_member_name (b, "validation_split");
    json_builder_add_double_value (b, exp->val_fraction);
    if (g_str_equal (exp->data_format, "csv")) {
        json_builder_set_member_name (b, "test_split");
        json_builder_add_double_value (b, exp->test_fraction);
    }
    json_builder_set_member_name (b, "normalize");
    if (exp->normalize_from_data) {
        json_builder_add_string_value (b, "dataset");
    } else {
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "mean");
        json_builder_begin_array (b);
        for (int i = 0; i < exp->normalize.n_channels; i++)
            json_builder_add_double_value (b, exp->normalize.mean[i]);
        json_builder_end_array (b);
        json_builder_set_member_name (b, "std");
        json_builder_begin_array (b);
        for (int i = 0; i < exp->normalize.n_channels; i++)
            json_builder_add_double_value (b, exp->normalize.std[i]);
        json_builder_end_array (b);
        json_builder_end_object (b);
    }
    json_builder_end_object (b);

    json_builder_set_member_name (b, "network");
    json_builder_add_value (b, json_node_copy (exp->network));

    json_builder_set_member_name (b, "training");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "optimizer");
    dn_optim_config_to_json (&exp->optim, b);
    json_builder_set_member_name (b, "scheduler");
    dn_sched_config_to_json (&exp->sched, b);
    add_string (b, "loss", dn_loss_kind_name (exp->loss));
    if (exp->label_smoothing > 0) {
        json_builder_set_member_name (b, "label_smoothing");
        json_builder_add_double_value (b, exp->label_smoothing);
    }
    json_builder_set_member_name (b, "batch_size");
    json_builder_add_int_value (b, exp->batch_size);
    json_builder_set_member_name (b, "epochs");
    json_builder_add_int_value (b, exp->epochs);
    json_builder_set_member_name (b, "seed");
    json_builder_add_int_value (b, (gint64) exp->seed);
    add_string (b, "device", exp->device);
    json_builder_end_object (b);

    json_builder_set_member_name (b, "output");
    json_builder_begin_object (b);
    add_string (b, "dir", exp->out_dir);
    json_builder_end_object (b);
    if (exp->dendrites) {
        json_builder_set_member_name (b, "dendrites");
        json_builder_begin_object (b);
        dn_dendrite_selection_to_json (&exp->selection, b);
        dn_tracker_config_add_members (&exp->tracker, b);
        json_builder_end_object (b);
    }
    if (exp->continual) {
        json_builder_set_member_name (b, "continual");
        json_builder_begin_object (b);
        dn_continual_config_add_members (&exp->cl, b);
        json_builder_end_object (b);
    }
    json_builder_end_object (b);
    return json_builder_get_root (b);
}

gboolean dn_experiment_save (const DnExperiment *exp, const char *path, GError **error)
{
    g_autoptr (JsonNode) root = dn_experiment_to_json (exp);
    g_autofree char *text = dn_json_to_string (root, TRUE);
    g_autoptr (GError) local = NULL;
    if (!dn_file_write_atomic (path, text, strlen (text), &local)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "could not save the experiment: %s",
                     local->message);
        return FALSE;
    }
    return TRUE;
}

void dn_experiment_free (DnExperiment *exp)
{
    if (exp == NULL)
        return;
    g_free (exp->name);
    g_free (exp->base_dir);
    g_free (exp->data_format);
    g_free (exp->data_path);
    g_free (exp->test_path);
    g_free (exp->label_column);
    if (exp->network != NULL)
        json_node_unref (exp->network);
    g_free (exp->device);
    g_free (exp->out_dir);
    g_free (exp->description);
    dn_dendrite_selection_clear (&exp->selection);
    dn_continual_config_clear (&exp->cl);
    g_free (exp);
}

char *dn_default_data_dir (void)
{
    const char *env = g_getenv ("DN_DATA_DIR");
    if (env != NULL) {
        char *p = g_build_filename (env, "datasets", "mnist-10k", NULL);
        if (g_file_test (p, G_FILE_TEST_IS_DIR))
            return p;
        g_free (p);
    }
    char *p = g_build_filename (DN_DATADIR, "datasets", "mnist-10k", NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
        return p;
    g_free (p);
    return g_build_filename (DN_SOURCE_DATADIR, "datasets", "mnist-10k", NULL);
}

char *dn_experiment_resolve_path (const DnExperiment *exp, const char *path)
{
    if (path == NULL)
        return NULL;
    if (g_path_is_absolute (path) || g_file_test (path, G_FILE_TEST_EXISTS) ||
        exp->base_dir == NULL)
        return g_strdup (path);
    char *rel = g_build_filename (exp->base_dir, path, NULL);
    if (g_file_test (rel, G_FILE_TEST_EXISTS))
        return rel;
    g_free (rel);
    return g_strdup (path);
}
