/* fuzz-model.c: model files (dn_model_load and what `dendrite eval` reads) under hostile bytes.
 *
 * The input is the JSON header of a safetensors model file: tensor entries and
 * __metadata__ with the network description ("dendrite_network", JSON in a
 * string) and, for continual models, "dendrite_continual". The harness puts the
 * 8-byte length in front and a data section behind, as long as the largest end
 * offset the header names (so lying offsets are still possible: overlaps, holes),
 * writes the file and loads it with dn_model_load on the CPU backend, which
 * builds the network from the description and copies the weights in by name.
 * A network that loads is run forward on a batch of two and, when the metadata
 * says it is a continual model, evaluated on a small image set the way `dendrite
 * eval` does. Every call must give a result or an error, never both, never
 * neither, and never crash. Built with -DDN_LIBFUZZER it is a libFuzzer target;
 * otherwise main() replays the files and folders given as arguments (the corpus
 * in tests/fuzz/corpus/model/, each file such a header).
 */
#include "dn-continual.h"
#include "dn-json.h"
#include "dn-model.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Data sections, activations and parameters beyond this are not built: the reader's
 * checks are what is under test, not the machine's memory. */
#define MAX_DATA (16u << 20)
#define SMALL_FLOATS (1 << 20)

static void check (gboolean ok, const GError *error, const char *call)
{
    if (ok == (error != NULL)) {
        fprintf (stderr, "fuzz-model: %s returned %s with %s error\n", call,
                 ok ? "a result" : "nothing", error != NULL ? "an" : "no");
        abort ();
    }
}

/* The end of the data section the header's offsets reach (0 if it does not parse). */
static gsize data_size (const char *header, gsize len)
{
    g_autoptr (JsonParser) p = json_parser_new ();
    if (!json_parser_load_from_data (p, header, (gssize) len, NULL) ||
        !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
        return 0;
    JsonObject *o = json_node_get_object (json_parser_get_root (p));
    g_autoptr (GList) members = json_object_get_members (o);
    gint64 end = 0;
    for (GList *m = members; m != NULL; m = m->next) {
        JsonNode *n = json_object_get_member (o, m->data);
        if (!JSON_NODE_HOLDS_OBJECT (n))
            continue;
        JsonNode *off = json_object_get_member (json_node_get_object (n), "data_offsets");
        if (off == NULL || !JSON_NODE_HOLDS_ARRAY (off))
            continue;
        JsonArray *a = json_node_get_array (off);
        if (json_array_get_length (a) != 2 ||
            !JSON_NODE_HOLDS_VALUE (json_array_get_element (a, 1)) ||
            json_node_get_value_type (json_array_get_element (a, 1)) != G_TYPE_INT64)
            continue;
        end = MAX (end, json_array_get_int_element (a, 1));
    }
    return (gsize) CLAMP (end, 0, (gint64) MAX_DATA);
}

static char *path;

static void remove_model (void)
{
    g_remove (path);
}

/* One file per process, rewritten for every input and removed at exit. */
static const char *model_path (void)
{
    if (path == NULL) {
        int fd = g_file_open_tmp ("fuzz-model-XXXXXX.safetensors", &path, NULL);
        if (fd < 0)
            abort ();
        close (fd);
        atexit (remove_model);
    }
    return path;
}

static void write_model (const char *path, const uint8_t *header, size_t len)
{
    gsize n_data = data_size ((const char *) header, len);
    FILE *f = fopen (path, "wb");
    if (f == NULL)
        abort ();
    guint64 le = GUINT64_TO_LE ((guint64) len);
    fwrite (&le, 8, 1, f);
    fwrite (header, 1, len, f);
    /* weights: small, finite, not all equal (a float every 4 bytes) */
    for (gsize i = 0; i < n_data; i += 4) {
        float v = (float) ((int) (i / 4 % 7) - 3) * 0.125f;
        fwrite (&v, 1, MIN (4, n_data - i), f);
    }
    fclose (f);
}

static gboolean small (DnNetwork *net)
{
    size_t acts = 0, ws = 0;
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnLayer *l = dn_network_node (net, i)->layer;
        acts += (size_t) dn_shape_numel (&l->out_shape);
        ws = MAX (ws, l->workspace_per_sample);
    }
    return acts <= SMALL_FLOATS && ws <= SMALL_FLOATS &&
           dn_shape_numel (&net->input_shape) <= SMALL_FLOATS &&
           net->n_params + net->n_buffers <= SMALL_FLOATS;
}

/* What `dendrite eval` does with a continual model: every task on a few images. */
static void evaluate_continual (DnNetwork *net, GHashTable *meta)
{
    int64_t npix = dn_shape_numel (&net->input_shape);
    if (npix < 1 || npix > 4096)
        return;
    enum { N = 3 };
    GByteArray *img = g_byte_array_new (), *lab = g_byte_array_new ();
    guint32 ih[4] = {GUINT32_TO_BE (0x803), GUINT32_TO_BE (N), GUINT32_TO_BE (1),
                     GUINT32_TO_BE ((guint32) npix)};
    guint32 lh[2] = {GUINT32_TO_BE (0x801), GUINT32_TO_BE (N)};
    g_byte_array_append (img, (guint8 *) ih, sizeof ih);
    g_byte_array_append (lab, (guint8 *) lh, sizeof lh);
    for (int i = 0; i < N; i++) {
        guint8 y = (guint8) i;
        g_byte_array_append (lab, &y, 1);
        for (int64_t k = 0; k < npix; k++) {
            guint8 v = (guint8) (k * 37 + i * 101);
            g_byte_array_append (img, &v, 1);
        }
    }
    GError *error = NULL;
    DnDataset *ds =
        dn_dataset_parse_idx (img->data, img->len, "images", lab->data, lab->len, "labels", &error);
    check (ds != NULL, error, "dn_dataset_parse_idx");
    DnNormalize norm = {.n_channels = 1, .mean = {0.1f}, .std = {0.3f}};
    double *per_task = NULL, avg = 0.0;
    int tasks = 0;
    gboolean ok =
        dn_continual_evaluate (net, meta, "model", ds, &norm, 2, &per_task, &tasks, &avg, &error);
    check (ok, error, "dn_continual_evaluate");
    if (ok && (tasks < 1 || per_task == NULL))
        abort ();
    g_free (per_task);
    g_clear_error (&error);
    dn_dataset_free (ds);
    g_byte_array_unref (img);
    g_byte_array_unref (lab);
}

static void run_forward (DnNetwork *net)
{
    GError *error = NULL;
    gboolean ok = dn_network_reserve (net, 2, &error);
    check (ok, error, "dn_network_reserve");
    if (!ok) {
        g_clear_error (&error);
        return;
    }
    size_t in = (size_t) dn_shape_numel (&net->input_shape);
    float *x = g_new (float, 2 * MAX (in, 1));
    for (size_t i = 0; i < 2 * in; i++)
        x[i] = (float) (i % 5) * 0.5f - 1.0f;
    DnShape os = dn_network_output_shape (net);
    dn_network_set_training (net, FALSE);
    const DnTensor *y = dn_network_forward (net, x, 2, 7);
    if (y == NULL || dn_tensor_numel (y) != 2 * dn_shape_numel (&os))
        abort ();
    g_free (x);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *path = model_path ();
    write_model (path, data, size);
    GError *error = NULL;
    GHashTable *meta = NULL;
    DnNetwork *net = dn_model_load (path, dn_backend_cpu (), &meta, &error);
    check (net != NULL, error, "dn_model_load");
    if (net == NULL) {
        g_clear_error (&error);
        return 0;
    }
    if (meta == NULL)
        abort ();
    if (small (net)) {
        run_forward (net);
        if (dn_network_context_dim (net) > 0 || g_hash_table_contains (meta, "dendrite_continual"))
            evaluate_continual (net, meta);
    }
    g_hash_table_unref (meta);
    dn_network_free (net);
    return 0;
}
