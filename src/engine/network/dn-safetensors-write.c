/* dn-safetensors-write.c: writing safetensors files.
 *
 * The writer stores F32 only, pads the header with spaces so the data
 * starts 8-aligned, and writes to a temporary file in the same folder that
 * is synced and renamed over the target. It refuses a header above the
 * readers' limit, so whatever it writes can be read back.
 */
#include "dn-safetensors.h"
#include "dn-error.h"
#include "dn-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

#define ST_MAX_HEADER DN_SAFETENSORS_MAX_HEADER

static gboolean st_check_writes (const DnStWrite *tensors, int n, GHashTable *metadata,
                                 guint64 *sizes, GError **error)
{
    g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
    for (int i = 0; i < n; i++) {
        const DnStWrite *w = &tensors[i];
        if (w->name == NULL || w->name[0] == '\0' || !g_utf8_validate (w->name, -1, NULL) ||
            strcmp (w->name, "__metadata__") == 0) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "Cannot save tensor %d: its name must be a non-empty UTF-8 string "
                         "other than __metadata__",
                         i);
            return FALSE;
        }
        if (!g_hash_table_add (seen, (gpointer) w->name)) {
            g_autofree char *q = dn_quote (w->name);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "Cannot save two tensors named %s; give each tensor its own name", q);
            return FALSE;
        }
        gboolean ok = w->shape.ndim >= 0 && w->shape.ndim <= DN_MAX_DIMS;
        guint64 numel = 1;
        for (int d = 0; ok && d < w->shape.ndim; d++)
            ok =
                w->shape.d[d] >= 0 && g_uint64_checked_mul (&numel, numel, (guint64) w->shape.d[d]);
        if (!ok || !g_uint64_checked_mul (&sizes[i], numel, sizeof (float)) ||
            sizes[i] > G_MAXINT64 || (numel > 0 && w->data == NULL)) {
            g_autofree char *q = dn_quote (w->name);
            g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                         "Cannot save tensor %s: its shape is invalid or it has no data", q);
            return FALSE;
        }
    }
    if (metadata != NULL) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init (&it, metadata);
        while (g_hash_table_iter_next (&it, &k, &v)) {
            if (k == NULL || v == NULL || !g_utf8_validate (k, -1, NULL) ||
                !g_utf8_validate (v, -1, NULL)) {
                g_autofree char *q = dn_quote (k);
                g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                             "Cannot save metadata key %s: keys and values must be UTF-8 "
                             "strings",
                             q);
                return FALSE;
            }
        }
    }
    return TRUE;
}

static int st_key_cmp (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The header JSON, unpadded: metadata first (sorted keys, "format": "pt"
 * unless the caller set a format), then the tensors in the given order. */
static char *st_build_header (const DnStWrite *tensors, int n, GHashTable *metadata,
                              const guint64 *sizes, gsize *len)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);

    json_builder_set_member_name (b, "__metadata__");
    json_builder_begin_object (b);
    if (metadata == NULL || g_hash_table_lookup (metadata, "format") == NULL) {
        json_builder_set_member_name (b, "format");
        json_builder_add_string_value (b, "pt");
    }
    if (metadata != NULL) {
        g_autofree gpointer *keys = g_hash_table_get_keys_as_array (metadata, NULL);
        guint nk = g_hash_table_size (metadata);
        qsort (keys, nk, sizeof *keys, st_key_cmp);
        for (guint i = 0; i < nk; i++) {
            json_builder_set_member_name (b, keys[i]);
            json_builder_add_string_value (b, g_hash_table_lookup (metadata, keys[i]));
        }
    }
    json_builder_end_object (b);

    guint64 offset = 0;
    for (int i = 0; i < n; i++) {
        json_builder_set_member_name (b, tensors[i].name);
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "dtype");
        json_builder_add_string_value (b, "F32");
        json_builder_set_member_name (b, "shape");
        json_builder_begin_array (b);
        for (int d = 0; d < tensors[i].shape.ndim; d++)
            json_builder_add_int_value (b, tensors[i].shape.d[d]);
        json_builder_end_array (b);
        json_builder_set_member_name (b, "data_offsets");
        json_builder_begin_array (b);
        json_builder_add_int_value (b, (gint64) offset);
        json_builder_add_int_value (b, (gint64) (offset + sizes[i]));
        json_builder_end_array (b);
        json_builder_end_object (b);
        offset += sizes[i];
    }
    json_builder_end_object (b);

    g_autoptr (JsonGenerator) gen = json_generator_new ();
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    json_generator_set_root (gen, root);
    return json_generator_to_data (gen, len);
}

/* Floats go out little-endian whatever the host, through a small buffer. */
static gboolean st_write_floats (int fd, const float *data, guint64 numel)
{
    enum { CHUNK = 16384 };
    guint32 buf[CHUNK];
    for (guint64 i = 0; i < numel;) {
        gsize m = (gsize) MIN ((guint64) CHUNK, numel - i);
        for (gsize j = 0; j < m; j++) {
            guint32 bits;
            memcpy (&bits, &data[i + j], 4);
            buf[j] = GUINT32_TO_LE (bits);
        }
        if (!dn_file_write_all (fd, (const char *) buf, m * 4))
            return FALSE;
        i += m;
    }
    return TRUE;
}

gboolean dn_safetensors_write (const char *path, const DnStWrite *tensors, int n,
                               GHashTable *metadata, GError **error)
{
    return dn_safetensors_write_pending (path, tensors, n, metadata, NULL, error);
}

gboolean dn_safetensors_write_pending (const char *path, const DnStWrite *tensors, int n,
                                       GHashTable *metadata, DnFileCommit **pending,
                                       GError **error)
{
    if (pending != NULL)
        *pending = NULL;
    g_return_val_if_fail (path != NULL, FALSE);
    g_return_val_if_fail (n >= 0 && (n == 0 || tensors != NULL), FALSE);

    g_autofree guint64 *sizes = g_new0 (guint64, n ? n : 1);
    if (!st_check_writes (tensors, n, metadata, sizes, error))
        return FALSE;

    /* What the writer writes, the reader must read: refuse a header over the
     * readers' limit, first from the raw text (without building a huge header),
     * then from the escaped JSON. */
    guint64 raw = 0;
    for (int i = 0; i < n; i++)
        raw += strlen (tensors[i].name);
    if (metadata != NULL) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init (&it, metadata);
        while (g_hash_table_iter_next (&it, &k, &v))
            raw += strlen (k) + strlen (v);
    }
    if (raw > ST_MAX_HEADER) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "Cannot save %s: its tensor names and metadata take %" G_GUINT64_FORMAT
                     " bytes, above the 100 MB that safetensors readers accept for a header; "
                     "shorten the names",
                     path, raw);
        return FALSE;
    }
    gsize json_len = 0;
    g_autofree char *json = st_build_header (tensors, n, metadata, sizes, &json_len);
    if (json_len + 8 > ST_MAX_HEADER) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "Cannot save %s: its header would take %" G_GSIZE_FORMAT
                     " bytes, above the 100 MB that safetensors readers accept; shorten the names",
                     path, json_len);
        return FALSE;
    }
    /* Pad with spaces so that 8 + N is a multiple of 8. */
    gsize header_len = json_len + (8 - (8 + json_len) % 8) % 8;
    g_autofree char *header = g_malloc (header_len);
    memcpy (header, json, json_len);
    memset (header + json_len, ' ', header_len - json_len);
    guint64 len_le = GUINT64_TO_LE ((guint64) header_len);

    char *tmp = NULL;
    int fd = dn_file_atomic_open (path, &tmp, error);
    if (fd < 0)
        return FALSE;
    gboolean ok = dn_file_write_all (fd, (const char *) &len_le, 8) &&
                  dn_file_write_all (fd, header, header_len);
    for (int i = 0; ok && i < n; i++)
        ok = st_write_floats (fd, tensors[i].data, sizes[i] / sizeof (float));
    if (pending != NULL)
        return dn_file_atomic_commit_start (fd, tmp, path, ok, pending, error);
    return dn_file_atomic_commit (fd, tmp, path, ok, error);
}
