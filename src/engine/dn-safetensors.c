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
 * The writer stores F32 only, pads the header with spaces so the data
 * starts 8-aligned, and writes to a temporary file in the same folder that
 * is synced and renamed over the target.
 */
#include "dn-safetensors.h"
#include "dn-error.h"
#include "dn-run-dir.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <unistd.h>

/* Readers cap the header, as the reference implementation does. */
#define ST_MAX_HEADER ((guint64) 100 * 1000 * 1000)
/* A safetensors header nests 3 deep; json-glib recurses once per level. */
#define ST_MAX_DEPTH 32
/* Tensor names longer than this are shortened in error messages. */
#define ST_MSG_NAME_CHARS 120

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

static char *st_short_name (const char *name)
{
    if (g_utf8_strlen (name, -1) <= ST_MSG_NAME_CHARS)
        return g_strdup (name);
    g_autofree char *head = g_utf8_substring (name, 0, ST_MSG_NAME_CHARS);
    return g_strconcat (head, "…", NULL);
}

/* Sets "<what>: tensor '<name>': <message>". */
G_GNUC_PRINTF (5, 6)
static void st_tensor_error (GError **error, DnError code, const char *what, const char *name,
                             const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    g_autofree char *msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);
    g_autofree char *shown = st_short_name (name);
    g_set_error (error, DN_ERROR, code, "%s: tensor '%s': %s", what, shown, msg);
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
        g_autofree char *shown = st_short_name (dup_name);
        if (dc.dup_object == json_node_get_object (root))
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: the header names '%s' twice; safetensors forbids duplicate "
                         "names, so re-save the file",
                         what, shown);
        else
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: the header has the key '%s' twice in one entry; safetensors "
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
            g_autofree char *shown = st_short_name (key);
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: __metadata__ value '%s' is %s; metadata values must be strings "
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
    g_autofree char *shown = st_short_name (code);
    if (g_strv_contains (st_unsupported, code))
        st_tensor_error (error, DN_ERROR_UNSUPPORTED, what, e->name,
                         "dtype %s cannot be read; save the tensor as F32, F16 or BF16", shown);
    else
        st_tensor_error (error, DN_ERROR_FORMAT, what, e->name,
                         "unknown dtype \"%s\"; expected one of F64, F32, F16, BF16, I64, I32, "
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
            g_autofree char *a = st_short_name (prev->name);
            g_autofree char *b = st_short_name (e->name);
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: tensors '%s' and '%s' overlap in the data (bytes %" G_GUINT64_FORMAT
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
    g_free (st);
}

DnSafetensors *dn_safetensors_parse (const guint8 *bytes, gsize len, const char *what,
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
        /* numel * size <= buffer_len; only a 32-bit host can overflow here. */
        float *data = e->numel <= G_MAXSIZE / sizeof (float)
                          ? dn_try_malloc0 ((gsize) e->numel * sizeof (float), e->name, error)
                          : dn_try_malloc0 (G_MAXSIZE, e->name, error);
        if (data == NULL)
            return NULL;
        st_convert (e->dtype, buffer + e->begin, e->numel, data);
        DnStTensor *t = g_new0 (DnStTensor, 1);
        t->name = g_strdup (e->name);
        t->shape = e->shape;
        t->dtype = g_strdup (e->dtype->code);
        t->data = data;
        g_ptr_array_add (st->tensors, t);
    }
    return g_steal_pointer (&st);
}

DnSafetensors *dn_safetensors_read (const char *path, GError **error)
{
    g_return_val_if_fail (path != NULL, NULL);
    g_autofree char *contents = NULL;
    gsize len = 0;
    g_autoptr (GError) local = NULL;
    if (!g_file_get_contents (path, &contents, &len, &local)) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "Could not read the safetensors file: %s; check the path and permissions",
                     local->message);
        return NULL;
    }
    return dn_safetensors_parse ((const guint8 *) contents, len, path, error);
}

DnStTensor *dn_safetensors_find (DnSafetensors *st, const char *name)
{
    g_return_val_if_fail (st != NULL && name != NULL, NULL);
    for (guint i = 0; i < st->tensors->len; i++) {
        DnStTensor *t = g_ptr_array_index (st->tensors, i);
        if (strcmp (t->name, name) == 0)
            return t;
    }
    return NULL;
}

const char *dn_safetensors_metadata (DnSafetensors *st, const char *key)
{
    g_return_val_if_fail (st != NULL && key != NULL, NULL);
    return g_hash_table_lookup (st->metadata, key);
}

/* ---- writing ----------------------------------------------------------- */

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
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "Cannot save two tensors named '%s'; give each tensor its own name",
                         w->name);
            return FALSE;
        }
        gboolean ok = w->shape.ndim >= 0 && w->shape.ndim <= DN_MAX_DIMS;
        guint64 numel = 1;
        for (int d = 0; ok && d < w->shape.ndim; d++)
            ok =
                w->shape.d[d] >= 0 && g_uint64_checked_mul (&numel, numel, (guint64) w->shape.d[d]);
        if (!ok || !g_uint64_checked_mul (&sizes[i], numel, sizeof (float)) ||
            sizes[i] > G_MAXINT64 || (numel > 0 && w->data == NULL)) {
            g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                         "Cannot save tensor '%s': its shape is invalid or it has no data",
                         w->name);
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
                g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                             "Cannot save metadata key '%s': keys and values must be UTF-8 "
                             "strings",
                             k != NULL && g_utf8_validate (k, -1, NULL) ? (char *) k : "?");
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

static gboolean st_write_all (int fd, const void *data, gsize len)
{
    const guint8 *p = data;
    while (len > 0) {
        gssize w = write (fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w == 0)
            errno = EIO;
        if (w <= 0)
            return FALSE;
        p += w;
        len -= (gsize) w;
    }
    return TRUE;
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
        if (!st_write_all (fd, buf, m * 4))
            return FALSE;
        i += m;
    }
    return TRUE;
}

gboolean dn_safetensors_write (const char *path, const DnStWrite *tensors, int n,
                               GHashTable *metadata, GError **error)
{
    g_return_val_if_fail (path != NULL, FALSE);
    g_return_val_if_fail (n >= 0 && (n == 0 || tensors != NULL), FALSE);

    g_autofree guint64 *sizes = g_new0 (guint64, n ? n : 1);
    if (!st_check_writes (tensors, n, metadata, sizes, error))
        return FALSE;

    gsize json_len = 0;
    g_autofree char *json = st_build_header (tensors, n, metadata, sizes, &json_len);
    /* Pad with spaces so that 8 + N is a multiple of 8. */
    gsize header_len = json_len + (8 - (8 + json_len) % 8) % 8;
    g_autofree char *header = g_malloc (header_len);
    memcpy (header, json, json_len);
    memset (header + json_len, ' ', header_len - json_len);
    guint64 len_le = GUINT64_TO_LE ((guint64) header_len);

    g_autofree char *tmp = dn_file_temp_template (path);
    int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) {
        int err = errno;
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "Could not create a file next to %s: %s; check that the folder exists and "
                     "is writable",
                     path, g_strerror (err));
        return FALSE;
    }
    gboolean ok = st_write_all (fd, &len_le, 8) && st_write_all (fd, header, header_len);
    for (int i = 0; ok && i < n; i++)
        ok = st_write_floats (fd, tensors[i].data, sizes[i] / sizeof (float));
    if (ok && fsync (fd) != 0 && errno != EINVAL)
        ok = FALSE;
    int err = errno;
    if (close (fd) != 0 && ok) {
        ok = FALSE;
        err = errno;
    }
    if (ok && g_rename (tmp, path) != 0) {
        ok = FALSE;
        err = errno;
    }
    if (!ok) {
        g_unlink (tmp);
        g_set_error (error, DN_ERROR, DN_ERROR_IO,
                     "Could not write %s: %s; check free disk space and permissions", path,
                     g_strerror (err));
        return FALSE;
    }
    return TRUE;
}
