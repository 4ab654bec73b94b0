/* dn-safetensors.c: reading and writing safetensors files by hand.
 *
 * The reader trusts nothing: the header length, the JSON, every dtype,
 * shape and offset are checked, and the tensors must tile the data buffer
 * exactly, before a single tensor byte is converted. json-glib parses the
 * header, but only after our own scan has made sure it is plain JSON of a
 * small nesting depth (json-glib recurses, and is lenient about quotes and
 * comments). Duplicate keys, which json-glib silently merges, are caught
 * through its "object-member" signal.
 *
 * The writer is in dn-safetensors-write.c.
 */
#include "dn-safetensors.h"
#include "dn-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER DN_SAFETENSORS_MAX_HEADER
/* A safetensors header nests 3 deep; json-glib recurses once per level. */
#define ST_MAX_DEPTH 32

/* kind: 'f' IEEE float, 'h' half, 'b' bfloat16, 'i' signed and 'u' unsigned
 * integer, '?' bool. */
typedef struct {
    const char *code;
    guint size;
    char kind;
} StDtype;

static const StDtype st_dtypes[] = {
    {"F64", 8, 'f'}, {"F32", 4, 'f'}, {"F16", 2, 'h'},  {"BF16", 2, 'b'}, {"I64", 8, 'i'},
    {"I32", 4, 'i'}, {"I16", 2, 'i'}, {"I8", 1, 'i'},   {"U64", 8, 'u'},  {"U32", 4, 'u'},
    {"U16", 2, 'u'}, {"U8", 1, 'u'},  {"BOOL", 1, '?'},
};

/* Valid safetensors dtypes that we recognise but do not convert. */
static const char *const st_unsupported[] = {
    "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64", "C128", NULL,
};

typedef struct {
    const char *name; /* owned by the JSON tree */
    const StDtype *dtype;
    DnShape shape;
    guint64 numel;
    guint64 begin, end;
} StEntry;

/* ---- error helpers ---------------------------------------------------- */

/* Sets "<what>: tensor "<name>": <message>", the name shown by dn_quote. */
G_GNUC_PRINTF (5, 6)
static void st_tensor_error (GError **error, DnError code, const char *what, const char *name,
                             const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    g_autofree char *msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);
    g_autofree char *shown = dn_quote (name);
    g_set_error (error, DN_ERROR, code, "%s: tensor %s: %s", what, shown, msg);
}

/* "-3", "a string", "an array": what a JSON value is, for messages. */
static char *st_describe (JsonNode *node)
{
    if (node == NULL)
        return g_strdup ("nothing");
    switch (JSON_NODE_TYPE (node)) {
    case JSON_NODE_OBJECT:
        return g_strdup ("an object");
    case JSON_NODE_ARRAY:
        return g_strdup ("an array");
    case JSON_NODE_NULL:
        return g_strdup ("null");
    case JSON_NODE_VALUE:
        break;
    }
    GType t = json_node_get_value_type (node);
    if (t == G_TYPE_INT64)
        return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
    if (t == G_TYPE_DOUBLE)
        return g_strdup_printf ("%g", json_node_get_double (node));
    if (t == G_TYPE_BOOLEAN)
        return g_strdup ("a boolean");
    return g_strdup ("a string");
}

/* A JSON integer >= 0. json-glib wraps integers >= 2^63 to negative values,
 * so those are refused here too. */
static gboolean st_json_uint (JsonNode *node, guint64 *out)
{
    if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
        json_node_get_value_type (node) != G_TYPE_INT64)
        return FALSE;
    gint64 v = json_node_get_int (node);
    if (v < 0)
        return FALSE;
    *out = (guint64) v;
    return TRUE;
}

static guint64 st_read_u64le (const guint8 *p)
{
    guint64 v;
    memcpy (&v, p, sizeof v);
    return GUINT64_FROM_LE (v);
}

/* ---- sniffing and the header text ------------------------------------- */

#define ST_CONVERT_HINT                                                                            \
    "convert it in Python with `from safetensors.torch import save_file; "                         \
    "save_file(model.state_dict(), 'model.safetensors')`"

static gboolean st_sniff (const guint8 *bytes, gsize len, const char *what, GError **error)
{
    /* A '{' after the length field wins: neither zip nor pickle has one there, while
     * a safetensors header length may well start with 0x80 0x02 (640 bytes). */
    if (len >= 9 && bytes[8] == '{')
        return TRUE;
    if (len >= 4 && memcmp (bytes, "PK\x03\x04", 4) == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s is a PyTorch checkpoint (a zip archive of pickled Python objects), "
                     "which cannot be read safely; " ST_CONVERT_HINT,
                     what);
        return FALSE;
    }
    if (len >= 2 && bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s is a pickled PyTorch checkpoint (old torch.save format), which cannot "
                     "be read safely; " ST_CONVERT_HINT,
                     what);
        return FALSE;
    }
    if (len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s is gzip-compressed; decompress it (gunzip) and open the result", what);
        return FALSE;
    }
    return TRUE;
}

/* Checks that the header is UTF-8, has no NUL byte, uses only plain JSON
 * outside strings (no comments or single quotes, which json-glib accepts)
 * and nests at most ST_MAX_DEPTH deep. Returns a NUL-terminated copy. */
static char *st_header_text (const guint8 *p, gsize n, const char *what, GError **error)
{
    const guint8 *nul = memchr (p, 0, n);
    if (nul != NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the header contains a NUL byte at offset %" G_GSIZE_FORMAT
                     "; the file is corrupt or not safetensors",
                     what, (gsize) (nul - p) + 8);
        return NULL;
    }
    if (!g_utf8_validate_len ((const char *) p, n, NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the header is not valid UTF-8; the file is corrupt or not safetensors",
                     what);
        return NULL;
    }
    int depth = 0;
    gboolean in_string = FALSE, escaped = FALSE;
    for (gsize i = 0; i < n; i++) {
        guint8 c = p[i];
        if (in_string) {
            /* json-glib decodes \u0000 into a C string, silently cutting a name short */
            if (escaped && c == 'u' && i + 4 < n && memcmp (p + i + 1, "0000", 4) == 0) {
                g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                             "%s: the header holds a NUL character (\\u0000) in a string at byte "
                             "%" G_GSIZE_FORMAT "; names cannot contain one, so the file is "
                             "corrupt",
                             what, i + 8);
                return NULL;
            }
            if (escaped)
                escaped = FALSE;
            else if (c == '\\')
                escaped = TRUE;
            else if (c == '"')
                in_string = FALSE;
            continue;
        }
        if (c == '"') {
            in_string = TRUE;
        } else if (c == '{' || c == '[') {
            if (++depth > ST_MAX_DEPTH) {
                g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                             "%s: the header nests more than %d levels deep; a safetensors "
                             "header is a flat object of tensor entries",
                             what, ST_MAX_DEPTH);
                return NULL;
            }
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (!(g_ascii_isalnum (c) || strchr (" \t\r\n:,.+-_", c) != NULL)) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: the header is not valid JSON: unexpected character '%c' at byte "
                         "%" G_GSIZE_FORMAT,
                         what, g_ascii_isprint (c) ? c : '?', i + 8);
            return NULL;
        }
    }
    return g_strndup ((const char *) p, n);
}

/* ---- duplicate keys ---------------------------------------------------- */

typedef struct {
    GHashTable *counts; /* JsonObject* -> number of members parsed into it */
    JsonObject *dup_object;
    char *dup_name;
} StDupCheck;

static void st_on_member (JsonParser *parser, JsonObject *object, const char *name,
                          gpointer user_data)
{
    StDupCheck *dc = user_data;
    guint n = GPOINTER_TO_UINT (g_hash_table_lookup (dc->counts, object)) + 1;
    g_hash_table_insert (dc->counts, object, GUINT_TO_POINTER (n));
    /* json-glib replaces a repeated member, so the object stops growing. */
    if (dc->dup_name == NULL && json_object_get_size (object) < n) {
        dc->dup_object = object;
        dc->dup_name = g_strdup (name);
    }
}

static JsonParser *st_parse_json (const char *text, const char *what, GError **error)
{
    g_autoptr (JsonParser) parser = json_parser_new ();
    StDupCheck dc = {g_hash_table_new (NULL, NULL), NULL, NULL};
    g_signal_connect (parser, "object-member", G_CALLBACK (st_on_member), &dc);
    g_autoptr (GError) local = NULL;
    gboolean ok = json_parser_load_from_data (parser, text, -1, &local);
    g_signal_handlers_disconnect_by_data (parser, &dc);
    g_hash_table_unref (dc.counts);
    g_autofree char *dup_name = dc.dup_name;

    if (!ok) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: the header is not valid JSON: %s", what,
                     local->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root (parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the header is not a JSON object; the file is not safetensors", what);
        return NULL;
    }
    if (dup_name != NULL) {
        g_autofree char *shown = dn_quote (dup_name);
        if (dc.dup_object == json_node_get_object (root))
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: the header names %s twice; safetensors forbids duplicate "
                         "names, so re-save the file",
                         what, shown);
        else
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: the header has the key %s twice in one entry; safetensors "
                         "forbids duplicate keys, so re-save the file",
                         what, shown);
        return NULL;
    }
    return g_steal_pointer (&parser);
}

/* ---- entries ----------------------------------------------------------- */

static gboolean st_parse_metadata (JsonNode *node, GHashTable *metadata, const char *what,
                                   GError **error)
{
    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_autofree char *got = st_describe (node);
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: __metadata__ is %s; it must be an object mapping strings to strings",
                     what, got);
        return FALSE;
    }
    JsonObject *obj = json_node_get_object (node);
    JsonObjectIter iter;
    const char *key;
    JsonNode *value;
    json_object_iter_init (&iter, obj);
    while (json_object_iter_next (&iter, &key, &value)) {
        if (JSON_NODE_TYPE (value) != JSON_NODE_VALUE ||
            json_node_get_value_type (value) != G_TYPE_STRING) {
            g_autofree char *got = st_describe (value);
            g_autofree char *shown = dn_quote (key);
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: __metadata__ value %s is %s; metadata values must be strings "
                         "(store nested JSON as a string)",
                         what, shown, got);
            return FALSE;
        }
        g_hash_table_insert (metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
    }
    return TRUE;
}

static const StDtype *st_dtype_lookup (const char *code)
{
    for (gsize i = 0; i < G_N_ELEMENTS (st_dtypes); i++)
        if (strcmp (st_dtypes[i].code, code) == 0)
            return &st_dtypes[i];
    return NULL;
}

static gboolean st_parse_dtype (JsonObject *obj, StEntry *e, const char *what, GError **error)
{
    JsonNode *node = json_object_get_member (obj, "dtype");
    if (node == NULL || JSON_NODE_TYPE (node) != JSON_NODE_VALUE ||
        json_node_get_value_type (node) != G_TYPE_STRING) {
        g_autofree char *got = st_describe (node);
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "\"dtype\" is %s; it must be a string such as \"F32\"", got);
        return FALSE;
    }
    const char *code = json_node_get_string (node);
    e->dtype = st_dtype_lookup (code);
    if (e->dtype != NULL)
        return TRUE;
    g_autofree char *shown = dn_quote (code);
    if (g_strv_contains (st_unsupported, code))
        st_tensor_error (error, DN_ERROR_UNSUPPORTED, what, e->name,
                         "dtype %s cannot be read; save the tensor as F32, F16 or BF16", shown);
    else
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "unknown dtype %s; expected one of F64, F32, F16, BF16, I64, I32, "
                         "I16, I8, U64, U32, U16, U8, BOOL",
                         shown);
    return FALSE;
}

static gboolean st_parse_shape (JsonObject *obj, StEntry *e, const char *what, GError **error)
{
    JsonNode *node = json_object_get_member (obj, "shape");
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node)) {
        g_autofree char *got = st_describe (node);
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "\"shape\" is %s; it must be an array of dimensions such as [10, 784]",
                         got);
        return FALSE;
    }
    JsonArray *arr = json_node_get_array (node);
    guint ndim = json_array_get_length (arr);
    if (ndim > DN_MAX_DIMS) {
        st_tensor_error (error, DN_ERROR_UNSUPPORTED, what, e->name,
                         "shape has %u dimensions; at most %d are supported", ndim, DN_MAX_DIMS);
        return FALSE;
    }
    e->shape.ndim = (int) ndim;
    e->numel = 1;
    gboolean overflow = FALSE, empty = FALSE;
    for (guint i = 0; i < ndim; i++) {
        JsonNode *dim = json_array_get_element (arr, i);
        guint64 d;
        if (!st_json_uint (dim, &d)) {
            g_autofree char *got = st_describe (dim);
            st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                             "shape[%u] is %s; dimensions must be integers >= 0", i, got);
            return FALSE;
        }
        e->shape.d[i] = (int64_t) d;
        empty = empty || d == 0;
        if (!g_uint64_checked_mul (&e->numel, e->numel, d))
            overflow = TRUE;
    }
    /* A zero dimension makes the tensor empty, whatever the others say. */
    if (empty) {
        e->numel = 0;
    } else if (overflow) {
        g_autofree char *s = dn_shape_to_string (&e->shape);
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "shape %s is too large to exist; the header is corrupt", s);
        return FALSE;
    }
    return TRUE;
}

static gboolean st_parse_offsets (JsonObject *obj, StEntry *e, gsize buffer_len, const char *what,
                                  GError **error)
{
    JsonNode *node = json_object_get_member (obj, "data_offsets");
    JsonArray *arr =
        node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
    if (arr == NULL || json_array_get_length (arr) != 2 ||
        !st_json_uint (json_array_get_element (arr, 0), &e->begin) ||
        !st_json_uint (json_array_get_element (arr, 1), &e->end)) {
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "\"data_offsets\" must be an array of two integers >= 0, [begin, end], "
                         "relative to the start of the data");
        return FALSE;
    }
    if (e->end < e->begin) {
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                         "] end before they begin; the header is corrupt",
                         e->begin, e->end);
        return FALSE;
    }
    if (e->end > buffer_len) {
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "data_offsets end at byte %" G_GUINT64_FORMAT
                         " but the data after the header has only %" G_GSIZE_FORMAT
                         " bytes; the file is truncated (copy it again)",
                         e->end, buffer_len);
        return FALSE;
    }
    guint64 need;
    gboolean fits = g_uint64_checked_mul (&need, e->numel, e->dtype->size);
    if (!fits || need != e->end - e->begin) {
        g_autofree char *s = dn_shape_to_string (&e->shape);
        g_autofree char *needs =
            fits ? g_strdup_printf ("%" G_GUINT64_FORMAT, need) : g_strdup ("more than 2^64");
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                         "] hold %" G_GUINT64_FORMAT " bytes but shape %s of %s needs %s bytes; "
                         "the header is corrupt",
                         e->begin, e->end, e->end - e->begin, s, e->dtype->code, needs);
        return FALSE;
    }
    return TRUE;
}

static gboolean st_parse_entry (const char *name, JsonNode *node, StEntry *e, gsize buffer_len,
                                const char *what, GError **error)
{
    e->name = name;
    if (!JSON_NODE_HOLDS_OBJECT (node)) {
        g_autofree char *got = st_describe (node);
        st_tensor_error (error, DN_ERROR_FORMAT, what, name,
                         "the entry is %s; it must be an object with dtype, shape and "
                         "data_offsets",
                         got);
        return FALSE;
    }
    JsonObject *obj = json_node_get_object (node);
    return st_parse_dtype (obj, e, what, error) && st_parse_shape (obj, e, what, error) &&
           st_parse_offsets (obj, e, buffer_len, what, error);
}

static int st_entry_cmp (gconstpointer a, gconstpointer b)
{
    const StEntry *x = *(const StEntry *const *) a, *y = *(const StEntry *const *) b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return 0;
}

/* The tensors must tile [0, buffer_len) exactly: no overlap, no hole, no tail. */
static gboolean st_check_tiling (StEntry *entries, guint n, gsize buffer_len, const char *what,
                                 GError **error)
{
    g_autofree StEntry **sorted = g_new (StEntry *, n ? n : 1);
    for (guint i = 0; i < n; i++)
        sorted[i] = &entries[i];
    qsort (sorted, n, sizeof *sorted, st_entry_cmp);
    guint64 pos = 0;
    const StEntry *prev = NULL;
    for (guint i = 0; i < n; i++) {
        const StEntry *e = sorted[i];
        if (e->begin < pos) {
            g_autofree char *a = dn_quote (prev->name);
            g_autofree char *b = dn_quote (e->name);
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: tensors %s and %s overlap in the data (bytes %" G_GUINT64_FORMAT
                         "..%" G_GUINT64_FORMAT "); the header's data_offsets are corrupt",
                         what, a, b, e->begin, pos);
            return FALSE;
        }
        if (e->begin > pos) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: data bytes %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
                         " belong to no tensor; safetensors requires the tensors to cover the "
                         "data with no holes, so the header is corrupt",
                         what, pos, e->begin);
            return FALSE;
        }
        pos = e->end;
        prev = e;
    }
    if (pos != buffer_len) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the tensors end at data byte %" G_GUINT64_FORMAT
                     " but the file has %" G_GSIZE_FORMAT
                     " data bytes; trailing bytes belong to no tensor, so the file is corrupt",
                     what, pos, buffer_len);
        return FALSE;
    }
    return TRUE;
}

/* ---- conversion -------------------------------------------------------- */

static float st_f32_from_bits (guint32 bits)
{
    float f;
    memcpy (&f, &bits, sizeof f);
    return f;
}

static float st_half_to_float (guint16 h)
{
    guint32 sign = (guint32) (h & 0x8000u) << 16;
    guint32 exp = (h >> 10) & 0x1fu;
    guint32 mant = h & 0x3ffu;
    if (exp == 0x1f)
        return st_f32_from_bits (sign | 0x7f800000u | (mant << 13));
    if (exp != 0)
        return st_f32_from_bits (sign | ((exp + 112) << 23) | (mant << 13));
    /* Zero or subnormal: mant * 2^-24, exact in float. */
    float f = (float) mant * (1.0f / 16777216.0f);
    return sign ? -f : f;
}

/* One little-endian element of 1, 2, 4 or 8 bytes; p need not be aligned. */
static guint64 st_load_le (const guint8 *p, guint size)
{
    guint16 u16;
    guint32 u32;
    guint64 u64;
    switch (size) {
    case 1:
        return p[0];
    case 2:
        memcpy (&u16, p, 2);
        return GUINT16_FROM_LE (u16);
    case 4:
        memcpy (&u32, p, 4);
        return GUINT32_FROM_LE (u32);
    default:
        memcpy (&u64, p, 8);
        return GUINT64_FROM_LE (u64);
    }
}

/* src holds numel elements of dtype, as stored. */
static void st_convert (const StDtype *dtype, const guint8 *src, guint64 numel, float *dst)
{
    guint64 sign = (guint64) 1 << (8 * dtype->size - 1);
    for (guint64 i = 0; i < numel; i++) {
        guint64 u = st_load_le (src + i * dtype->size, dtype->size);
        double f64;
        switch (dtype->kind) {
        case 'f':
            if (dtype->size == 4) {
                dst[i] = st_f32_from_bits ((guint32) u);
            } else {
                memcpy (&f64, &u, 8);
                dst[i] = (float) f64;
            }
            break;
        case 'h':
            dst[i] = st_half_to_float ((guint16) u);
            break;
        case 'b':
            dst[i] = st_f32_from_bits ((guint32) u << 16);
            break;
        case 'i':
            /* Sign-extends the stored two's complement value. */
            dst[i] = (float) (gint64) ((u ^ sign) - sign);
            break;
        case 'u':
            dst[i] = (float) u;
            break;
        default:
            dst[i] = u != 0 ? 1.0f : 0.0f;
            break;
        }
    }
}

/* ---- reading ----------------------------------------------------------- */

static void st_tensor_free (gpointer p)
{
    DnStTensor *t = p;
    g_free (t->name);
    g_free (t->dtype);
    g_free (t->data);
    g_free (t);
}

void dn_safetensors_free (DnSafetensors *st)
{
    if (st == NULL)
        return;
    g_ptr_array_unref (st->tensors);
    g_hash_table_unref (st->metadata);
    if (st->map != NULL)
        g_mapped_file_unref (st->map);
    g_free (st);
}

/* Checks everything; converts every tensor now (eager) or leaves each to
 * dn_safetensors_tensor_data, reading from `bytes` later. */
static DnSafetensors *st_parse (const guint8 *bytes, gsize len, const char *what, gboolean eager,
                                GError **error)
{
    g_return_val_if_fail (bytes != NULL || len == 0, NULL);
    if (what == NULL)
        what = "safetensors data";
    if (!st_sniff (bytes, len, what, error))
        return NULL;
    if (len < 8) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: %" G_GSIZE_FORMAT " bytes is too short for safetensors, which starts "
                     "with an 8-byte header length; the file is truncated or not safetensors",
                     what, len);
        return NULL;
    }
    guint64 header_len = st_read_u64le (bytes);
    if (header_len > ST_MAX_HEADER) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the header length is %" G_GUINT64_FORMAT
                     " bytes, above the 100 MB limit; the file is corrupt or not safetensors",
                     what, header_len);
        return NULL;
    }
    if (header_len > len - 8) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the header length is %" G_GUINT64_FORMAT
                     " bytes but only %" G_GSIZE_FORMAT
                     " bytes follow; the file is truncated (copy it again) or not safetensors",
                     what, header_len, len - 8);
        return NULL;
    }
    if (header_len == 0 || bytes[8] != '{') {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: the header does not start with '{'; the file is not safetensors", what);
        return NULL;
    }
    const guint8 *buffer = bytes + 8 + header_len;
    gsize buffer_len = len - 8 - (gsize) header_len;

    g_autofree char *text = st_header_text (bytes + 8, (gsize) header_len, what, error);
    if (text == NULL)
        return NULL;
    g_autoptr (JsonParser) parser = st_parse_json (text, what, error);
    if (parser == NULL)
        return NULL;
    JsonObject *root = json_node_get_object (json_parser_get_root (parser));

    g_autoptr (DnSafetensors) st = g_new0 (DnSafetensors, 1);
    st->tensors = g_ptr_array_new_with_free_func (st_tensor_free);
    st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

    guint n_members = json_object_get_size (root);
    g_autofree StEntry *entries = g_new0 (StEntry, n_members ? n_members : 1);
    guint n = 0;
    /* json_object_get_members keeps the order of the file; its iterator does not. */
    g_autoptr (GList) names = json_object_get_members (root);
    for (GList *l = names; l != NULL; l = l->next) {
        const char *name = l->data;
        JsonNode *node = json_object_get_member (root, name);
        if (strcmp (name, "__metadata__") == 0) {
            if (!st_parse_metadata (node, st->metadata, what, error))
                return NULL;
            continue;
        }
        if (!st_parse_entry (name, node, &entries[n], buffer_len, what, error))
            return NULL;
        n++;
    }
    if (!st_check_tiling (entries, n, buffer_len, what, error))
        return NULL;

    for (guint i = 0; i < n; i++) {
        const StEntry *e = &entries[i];
        DnStTensor *t = g_new0 (DnStTensor, 1);
        t->name = g_strdup (e->name);
        t->shape = e->shape;
        t->dtype = g_strdup (e->dtype->code);
        t->src = buffer + e->begin;
        t->src_dtype = e->dtype;
        t->numel = e->numel;
        g_ptr_array_add (st->tensors, t);
        if (eager && dn_safetensors_tensor_data (st, t, error) == NULL)
            return NULL;
        if (eager)
            t->src = NULL;
    }
    return g_steal_pointer (&st);
}

DnSafetensors *dn_safetensors_parse (const guint8 *bytes, gsize len, const char *what,
                                     GError **error)
{
    g_return_val_if_fail (bytes != NULL || len == 0, NULL);
    return st_parse (bytes, len, what, TRUE, error);
}

DnSafetensors *dn_safetensors_open (const char *path, GError **error)
{
    g_return_val_if_fail (path != NULL, NULL);
    int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
    GStatBuf sb;
    if (fd < 0 || fstat (fd, &sb) != 0) {
        int err = errno;
        if (fd >= 0)
            close (fd);
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "Could not read the safetensors file %s: %s; check the path and permissions",
                     path, g_strerror (err));
        return NULL;
    }
    /* A pipe or device has no size to check a header against, and mapping needs one. */
    if (!S_ISREG (sb.st_mode)) {
        close (fd);
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "%s is not a regular file; a model must be a safetensors file on disk "
                     "(save a stream to a file first)",
                     path);
        return NULL;
    }
    if (sb.st_size == 0) {
        close (fd);
        return st_parse ((const guint8 *) "", 0, path, TRUE, error);
    }
    g_autoptr (GError) local = NULL;
    GMappedFile *map = g_mapped_file_new_from_fd (fd, FALSE, &local);
    close (fd);
    if (map == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "Could not map the safetensors file %s: %s; check that it is readable", path,
                     local->message);
        return NULL;
    }
    DnSafetensors *st = st_parse ((const guint8 *) g_mapped_file_get_contents (map),
                                  g_mapped_file_get_length (map), path, FALSE, error);
    if (st == NULL)
        g_mapped_file_unref (map);
    else
        st->map = map;
    return st;
}

DnSafetensors *dn_safetensors_read (const char *path, GError **error)
{
    g_autoptr (DnSafetensors) st = dn_safetensors_open (path, error);
    if (st == NULL)
        return NULL;
    for (guint i = 0; i < st->tensors->len; i++)
        if (dn_safetensors_tensor_data (st, st->tensors->pdata[i], error) == NULL)
            return NULL;
    return g_steal_pointer (&st);
}

const float *dn_safetensors_tensor_data (DnSafetensors *st, DnStTensor *t, GError **error)
{
    g_return_val_if_fail (st != NULL && t != NULL, NULL);
    if (t->data != NULL || t->src == NULL)
        return t->data;
    const StDtype *dtype = t->src_dtype;
    g_autofree char *q = dn_quote (t->name);
    g_autofree char *what = g_strdup_printf ("tensor %s", q);
    /* numel * size fits the file; only a 32-bit host can overflow here. */
    float *data = t->numel <= G_MAXSIZE / sizeof (float)
                      ? dn_try_malloc0 ((gsize) t->numel * sizeof (float), what, error)
                      : dn_try_malloc0 (G_MAXSIZE, what, error);
    if (data == NULL)
        return NULL;
    st_convert (dtype, t->src, t->numel, data);
    t->data = data;
    return data;
}

void dn_safetensors_tensor_release (DnSafetensors *st, DnStTensor *t)
{
    g_return_if_fail (st != NULL && t != NULL);
    if (t->src != NULL && st->map != NULL)
        g_clear_pointer (&t->data, g_free);
}

DnStTensor *dn_safetensors_find (DnSafetensors *st, const char *name)
{
    g_return_val_if_fail (st != NULL && name != NULL, NULL);
    for (guint i = 0; i < st->tensors->len; i++) {
        DnStTensor *t = g_ptr_array_index (st->tensors, i);
        if (strcmp (t->name, name) == 0) {
            g_autoptr (GError) local = NULL;
            if (dn_safetensors_tensor_data (st, t, &local) == NULL && t->numel > 0) {
                g_warning ("%s", local->message);
                return NULL;
            }
            return t;
        }
    }
    return NULL;
}

const char *dn_safetensors_metadata (DnSafetensors *st, const char *key)
{
    g_return_val_if_fail (st != NULL && key != NULL, NULL);
    return g_hash_table_lookup (st->metadata, key);
}
