/* dn-onnx-read.c: an ONNX model's protobuf, its tensors and node attributes, checked.
 *
 * protobuf-c checks the wire format; everything the format leaves open (a tensor's
 * data length against its dimensions, dimensions too large to allocate, external data
 * files) is checked here before any tensor is converted.
 */
#include "dn-onnx-private.h"
#include "dn-error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    T_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    T_INT32 = ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    T_INT64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64,
    T_DOUBLE = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
};

void _dn_onnx_const_free (DnOnnxConst *c)
{
    if (c == NULL)
        return;
    g_free (c->f);
    g_free (c->i);
    g_free (c);
}

static gboolean domain_is_default (const char *d)
{
    return d == NULL || d[0] == '\0' || g_str_equal (d, "ai.onnx");
}

/* ---- nesting ----
 *
 * protobuf-c unpacks a submessage by calling itself, with no limit: a graph in a node
 * attribute in a graph in ... (If and Loop bodies), or a TypeProto of a sequence of a
 * sequence of ..., a few bytes per level, would exhaust the stack. Before unpacking,
 * a scan of the wire format follows the fields of onnx.proto that hold the message
 * kinds which can contain themselves, with its own stack of at most
 * DN_ONNX_MAX_NESTING entries, and refuses a model nested deeper. Fields of other
 * kinds (tensors, strings, packed numbers) are skipped by their length; anything that
 * is not well-formed wire format stops the scan and is left to protobuf-c to refuse. */

typedef enum {
    M_NONE = -1, /* a field not followed */
    M_MODEL,
    M_TRAINING_INFO,
    M_FUNCTION,
    M_GRAPH,
    M_NODE,
    M_ATTRIBUTE,
    M_VALUE_INFO,
    M_TYPE,
    M_TYPE_ELEM, /* TypeProto.Sequence and TypeProto.Optional: elem_type = 1 */
    M_TYPE_MAP,  /* TypeProto.Map: value_type = 2 */
} MessageKind;

/* The kind of message field `field` of a `kind` message holds (onnx.proto's numbers). */
static MessageKind field_kind (MessageKind kind, guint64 field)
{
    switch (kind) {
    case M_MODEL:
        return field == 7    ? M_GRAPH
               : field == 20 ? M_TRAINING_INFO
               : field == 25 ? M_FUNCTION
                             : M_NONE;
    case M_TRAINING_INFO:
        return field == 1 || field == 2 ? M_GRAPH : M_NONE;
    case M_FUNCTION:
        return field == 7    ? M_NODE
               : field == 11 ? M_ATTRIBUTE
               : field == 12 ? M_VALUE_INFO
                             : M_NONE;
    case M_GRAPH:
        return field == 1 ? M_NODE : field >= 11 && field <= 13 ? M_VALUE_INFO : M_NONE;
    case M_NODE:
        return field == 5 ? M_ATTRIBUTE : M_NONE;
    case M_ATTRIBUTE:
        return field == 6 || field == 11 ? M_GRAPH : field == 14 || field == 15 ? M_TYPE : M_NONE;
    case M_VALUE_INFO:
        return field == 2 ? M_TYPE : M_NONE;
    case M_TYPE:
        return field == 4 || field == 9 ? M_TYPE_ELEM : field == 5 ? M_TYPE_MAP : M_NONE;
    case M_TYPE_ELEM:
        return field == 1 ? M_TYPE : M_NONE;
    case M_TYPE_MAP:
        return field == 2 ? M_TYPE : M_NONE;
    default:
        return M_NONE;
    }
}

/* A varint at *p before `end`; FALSE when it is cut off or longer than 10 bytes. */
static gboolean read_varint (const guint8 *b, gsize *p, gsize end, guint64 *out)
{
    guint64 v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        guint8 c = b[(*p)++];
        v |= (guint64) (c & 0x7f) << MIN (shift, 63);
        if ((c & 0x80) == 0) {
            *out = v;
            return TRUE;
        }
    }
    return FALSE;
}

/* FALSE, with an error, when messages are nested deeper than DN_ONNX_MAX_NESTING. */
static gboolean check_nesting (const guint8 *b, gsize len, const char *what, GError **error)
{
    struct {
        gsize end;
        MessageKind kind;
    } stack[DN_ONNX_MAX_NESTING];
    int depth = 0;
    gsize p = 0;
    stack[0].end = len;
    stack[0].kind = M_MODEL;
    while (depth >= 0) {
        gsize end = stack[depth].end;
        if (p >= end) {
            depth--;
            continue;
        }
        guint64 tag, n;
        if (!read_varint (b, &p, end, &tag))
            return TRUE;
        switch (tag & 7) {
        case 0: /* varint */
            if (!read_varint (b, &p, end, &n))
                return TRUE;
            break;
        case 1: /* 64 bits */
        case 5: /* 32 bits */
            n = (tag & 7) == 1 ? 8 : 4;
            if (n > end - p)
                return TRUE;
            p += n;
            break;
        case 2: { /* length-delimited */
            if (!read_varint (b, &p, end, &n) || n > end - p)
                return TRUE;
            MessageKind child = field_kind (stack[depth].kind, tag >> 3);
            if (child == M_NONE) {
                p += n;
                break;
            }
            if (depth + 1 >= DN_ONNX_MAX_NESTING) {
                g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                             "%s: messages nested more than %d deep (graphs in the attributes "
                             "of nodes in graphs, or types of types); import reads at most %d "
                             "levels",
                             what, DN_ONNX_MAX_NESTING, DN_ONNX_MAX_NESTING);
                return FALSE;
            }
            depth++;
            stack[depth].end = p + n;
            stack[depth].kind = child;
            break;
        }
        default: /* groups and invalid wire types: protobuf-c refuses them */
            return TRUE;
        }
    }
    return TRUE;
}

Onnx__ModelProto *_dn_onnx_unpack (const guint8 *bytes, gsize len, const char *what, int *opset,
                                   GError **error)
{
    if (len > DN_ONNX_MAX_FILE) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: %" G_GSIZE_FORMAT " bytes is more than an ONNX file may hold (2 GB); "
                     "save the weights as external data",
                     what, len);
        return NULL;
    }
    if (!check_nesting (bytes, len, what, error))
        return NULL;
    Onnx__ModelProto *m =
        (Onnx__ModelProto *) protobuf_c_message_unpack (&onnx__model_proto__descriptor, NULL, len,
                                                        bytes);
    if (m == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: not an ONNX model (the protobuf does not parse as a ModelProto: "
                     "truncated, or another kind of file)",
                     what);
        return NULL;
    }
    if (m->graph == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: the model has no graph", what);
        protobuf_c_message_free_unpacked (&m->base, NULL);
        return NULL;
    }
    int64_t version = -1;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (domain_is_default (o->domain) && o->has_version)
            version = o->version;
    }
    if (version < 0 && m->n_opset_import == 0)
        version = 1; /* IR version 2 and older: no opset_import, opset 1 */
    if (version < DN_ONNX_MIN_OPSET || version > DN_ONNX_MAX_OPSET) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: the model uses opset %" G_GINT64_FORMAT
                     " of the default domain; import reads opsets %d to %d (convert it with "
                     "onnx.version_converter, or export it again with opset_version=17)",
                     what, version, DN_ONNX_MIN_OPSET, DN_ONNX_MAX_OPSET);
        protobuf_c_message_free_unpacked (&m->base, NULL);
        return NULL;
    }
    *opset = (int) version;
    return m;
}

/* ---- tensors ---- */

static const char *type_name (int t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",   "UINT16",
                                        "INT16",     "INT32",  "INT64",     "STRING", "BOOL",
                                        "FLOAT16",   "DOUBLE", "UINT32",    "UINT64", "COMPLEX64",
                                        "COMPLEX128", "BFLOAT16"};
    return t >= 0 && t < (int) G_N_ELEMENTS (names) ? names[t] : "an unknown type";
}

static const char *ext_entry (const Onnx__TensorProto *t, const char *key)
{
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (e->key != NULL && g_str_equal (e->key, key))
            return e->value != NULL ? e->value : "";
    }
    return NULL;
}

/* Reads `len` bytes at `offset` of the external file of t, which must lie inside dir. */
static guint8 *read_external (const Onnx__TensorProto *t, const char *dir, gsize want,
                              const char *tname, const char *what, GError **error)
{
    const char *loc = ext_entry (t, "location");
    const char *off_s = ext_entry (t, "offset");
    const char *len_s = ext_entry (t, "length");
    guint64 offset = 0, length = want;
    if (loc == NULL || loc[0] == '\0') {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: tensor '%s' is stored outside the model but names no \"location\"",
                     what, tname);
        return NULL;
    }
    g_autofree char *qloc = dn_quote (loc);
    if ((off_s != NULL && !g_ascii_string_to_unsigned (off_s, 10, 0, G_MAXINT64, &offset, NULL)) ||
        (len_s != NULL && !g_ascii_string_to_unsigned (len_s, 10, 0, G_MAXINT64, &length, NULL))) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: tensor '%s' has an external offset or length that is not a whole "
                     "number",
                     what, tname);
        return NULL;
    }
    if (length != want) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: tensor '%s' says its external data is %" G_GUINT64_FORMAT
                     " bytes but its dimensions need %" G_GSIZE_FORMAT,
                     what, tname, length, want);
        return NULL;
    }
    g_auto (GStrv) parts = g_strsplit_set (loc, "/\\", -1);
    gboolean escapes = g_path_is_absolute (loc) || loc[0] == '\\';
    for (int i = 0; parts[i] != NULL; i++)
        escapes = escapes || g_str_equal (parts[i], "..");
    if (dir == NULL || escapes) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: tensor '%s' reads its data from %s, %s; external data must be a "
                     "file in the model's own folder",
                     what, tname, qloc,
                     dir == NULL ? "but this model was not read from a file"
                                 : "which is outside the model's folder");
        return NULL;
    }
    g_autofree char *path = g_build_filename (dir, loc, NULL);
    g_autofree char *real_dir = realpath (dir, NULL);
    g_autofree char *real = realpath (path, NULL);
    if (real == NULL || real_dir == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "%s: tensor '%s': cannot open %s: %s", what,
                     tname, qloc, g_strerror (errno));
        return NULL;
    }
    /* a link inside the folder may still point out of it */
    if (!g_str_has_prefix (real, real_dir) || real[strlen (real_dir)] != '/') {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: tensor '%s' reads its data from %s, which leads outside the model's "
                     "folder; external data must be a file in the model's own folder",
                     what, tname, qloc);
        return NULL;
    }
    FILE *f = fopen (real, "rb");
    if (f == NULL || !g_file_test (real, G_FILE_TEST_IS_REGULAR)) {
        if (f != NULL)
            fclose (f);
        g_set_error (error, DN_ERROR, DN_ERROR_IO, "%s: tensor '%s': %s is not a readable file",
                     what, tname, qloc);
        return NULL;
    }
    guint8 *buf = g_try_malloc (MAX (want, 1));
    gboolean ok = buf != NULL && fseeko (f, (off_t) offset, SEEK_SET) == 0 &&
                  fread (buf, 1, want, f) == want;
    fclose (f);
    if (!ok) {
        g_free (buf);
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: tensor '%s': %s holds fewer than the %" G_GSIZE_FORMAT
                     " bytes at offset %" G_GUINT64_FORMAT " that the tensor needs",
                     what, tname, qloc, want, offset);
        return NULL;
    }
    return buf;
}

static gboolean count_matches (size_t have, int64_t numel, const char *field, const char *tname,
                               const char *what, GError **error)
{
    if ((int64_t) have == numel)
        return TRUE;
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "%s: tensor '%s' holds %" G_GSIZE_FORMAT " values in %s but its dimensions "
                 "need %" G_GINT64_FORMAT,
                 what, tname, have, field, numel);
    return FALSE;
}

DnOnnxConst *_dn_onnx_tensor_read (const Onnx__TensorProto *t, const char *dir,
                                   const char *what, GError **error)
{
    const char *tname = t->name != NULL && t->name[0] ? t->name : "(unnamed)";
    int type = t->has_data_type ? t->data_type : 0;
    if (type != T_FLOAT && type != T_DOUBLE && type != T_INT64 && type != T_INT32) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: tensor '%s' is of type %s; import reads FLOAT, DOUBLE, INT64 and "
                     "INT32 tensors (convert the model to float32)",
                     what, tname, type_name (type));
        return NULL;
    }
    if (t->n_dims > DN_MAX_DIMS) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: tensor '%s' has %" G_GSIZE_FORMAT " dimensions; at most %d are read",
                     what, tname, t->n_dims, DN_MAX_DIMS);
        return NULL;
    }
    DnOnnxConst *c = g_new0 (DnOnnxConst, 1);
    c->ndim = (int) t->n_dims;
    c->numel = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || t->dims[i] > DN_ONNX_MAX_DIM ||
            c->numel * MAX (t->dims[i], 1) > DN_ONNX_MAX_NUMEL) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: tensor '%s' has dimension %" G_GSIZE_FORMAT " of %" G_GINT64_FORMAT
                         "; a tensor may hold at most %" G_GINT64_FORMAT " values",
                         what, tname, i, t->dims[i], DN_ONNX_MAX_NUMEL);
            _dn_onnx_const_free (c);
            return NULL;
        }
        c->dims[i] = t->dims[i];
        c->numel *= t->dims[i];
    }
    gsize esize = type == T_FLOAT || type == T_INT32 ? 4 : 8;
    gsize want = (gsize) c->numel * esize;
    const guint8 *raw = NULL;
    g_autofree guint8 *ext = NULL;
    gboolean external = t->has_data_location &&
                        t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external) {
        ext = read_external (t, dir, want, tname, what, error);
        if (ext == NULL) {
            _dn_onnx_const_free (c);
            return NULL;
        }
        raw = ext;
    } else if (t->has_raw_data) {
        if (t->raw_data.len != want) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: tensor '%s' holds %" G_GSIZE_FORMAT " bytes of raw data but its "
                         "dimensions need %" G_GSIZE_FORMAT,
                         what, tname, t->raw_data.len, want);
            _dn_onnx_const_free (c);
            return NULL;
        }
        raw = t->raw_data.data;
    }
    c->f = g_try_new (float, MAX (c->numel, 1));
    if (type == T_INT64 || type == T_INT32)
        c->i = g_try_new (int64_t, MAX (c->numel, 1));
    if (c->f == NULL || ((type == T_INT64 || type == T_INT32) && c->i == NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "%s: no memory for the %" G_GINT64_FORMAT " values of tensor '%s'", what,
                     c->numel, tname);
        _dn_onnx_const_free (c);
        return NULL;
    }
    gboolean ok = TRUE;
    if (raw == NULL) {
        switch (type) {
        case T_FLOAT: ok = count_matches (t->n_float_data, c->numel, "float_data", tname, what, error); break;
        case T_DOUBLE: ok = count_matches (t->n_double_data, c->numel, "double_data", tname, what, error); break;
        case T_INT64: ok = count_matches (t->n_int64_data, c->numel, "int64_data", tname, what, error); break;
        default: ok = count_matches (t->n_int32_data, c->numel, "int32_data", tname, what, error); break;
        }
        if (!ok) {
            _dn_onnx_const_free (c);
            return NULL;
        }
    }
    /* raw data is little-endian, as are the machines this builds for */
    for (int64_t k = 0; k < c->numel; k++) {
        double v;
        int64_t iv = 0;
        switch (type) {
        case T_FLOAT: {
            float x;
            if (raw != NULL)
                memcpy (&x, raw + 4 * k, 4);
            else
                x = t->float_data[k];
            v = x;
            break;
        }
        case T_DOUBLE:
            if (raw != NULL)
                memcpy (&v, raw + 8 * k, 8);
            else
                v = t->double_data[k];
            break;
        case T_INT64:
            if (raw != NULL)
                memcpy (&iv, raw + 8 * k, 8);
            else
                iv = t->int64_data[k];
            v = (double) iv;
            break;
        default: {
            int32_t x;
            if (raw != NULL)
                memcpy (&x, raw + 4 * k, 4);
            else
                x = t->int32_data[k];
            iv = x;
            v = x;
            break;
        }
        }
        c->f[k] = (float) v;
        if (c->i != NULL)
            c->i[k] = iv;
    }
    return c;
}

/* ---- attributes ---- */

char *_dn_onnx_node_label (const Onnx__NodeProto *n, int index)
{
    const char *op = n->op_type != NULL ? n->op_type : "?";
    if (n->name != NULL && n->name[0] != '\0') {
        g_autofree char *q = dn_quote_inner (n->name);
        return g_strdup_printf ("node '%s' (%s)", q, op);
    }
    return g_strdup_printf ("node %d (%s)", index + 1, op);
}

const Onnx__AttributeProto *_dn_onnx_attr (const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name != NULL && g_str_equal (n->attribute[i]->name, name))
            return n->attribute[i];
    return NULL;
}

gboolean _dn_onnx_check_attrs (const Onnx__NodeProto *n, const char *const *known,
                               const char *what, GError **error)
{
    for (size_t i = 0; i < n->n_attribute; i++) {
        const char *a = n->attribute[i]->name != NULL ? n->attribute[i]->name : "";
        gboolean ok = FALSE;
        for (int k = 0; known != NULL && known[k] != NULL; k++)
            ok = ok || g_str_equal (a, known[k]);
        if (!ok) {
            g_autofree char *q = dn_quote (a);
            g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                         "%s: the attribute %s is not one import maps for this operator; a "
                         "layer that computes it would be needed",
                         what, q);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean attr_type (const Onnx__AttributeProto *a, int type, const char *tname,
                           const char *what, GError **error)
{
    int have = a->has_type ? (int) a->type : 0;
    /* files from old writers leave the type out; the value's presence says it */
    if (have == type || (have == 0 && ((type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT && a->has_i) ||
                                       (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT && a->has_f) ||
                                       (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING && a->has_s) ||
                                       (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS && a->n_ints > 0))))
        return TRUE;
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: the attribute \"%s\" must be %s", what,
                 a->name, tname);
    return FALSE;
}

gboolean _dn_onnx_attr_int (const Onnx__NodeProto *n, const char *name, int64_t def,
                            int64_t *out, const char *what, GError **error)
{
    const Onnx__AttributeProto *a = _dn_onnx_attr (n, name);
    *out = def;
    if (a == NULL)
        return TRUE;
    if (!attr_type (a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "an integer", what, error))
        return FALSE;
    *out = a->i;
    return TRUE;
}

gboolean _dn_onnx_attr_float (const Onnx__NodeProto *n, const char *name, float def, float *out,
                              const char *what, GError **error)
{
    const Onnx__AttributeProto *a = _dn_onnx_attr (n, name);
    *out = def;
    if (a == NULL)
        return TRUE;
    if (!attr_type (a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "a float", what, error))
        return FALSE;
    *out = a->f;
    return TRUE;
}

gboolean _dn_onnx_attr_ints (const Onnx__NodeProto *n, const char *name, int max, int64_t *out,
                             int *n_out, const char *what, GError **error)
{
    const Onnx__AttributeProto *a = _dn_onnx_attr (n, name);
    *n_out = 0;
    if (a == NULL)
        return TRUE;
    if (!attr_type (a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "a list of integers", what,
                    error))
        return FALSE;
    if (a->n_ints > (size_t) max) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: the attribute \"%s\" has %" G_GSIZE_FORMAT " values; at most %d are "
                     "supported",
                     what, name, a->n_ints, max);
        return FALSE;
    }
    memcpy (out, a->ints, a->n_ints * sizeof *out);
    *n_out = (int) a->n_ints;
    return TRUE;
}

gboolean _dn_onnx_attr_string (const Onnx__NodeProto *n, const char *name, const char *def,
                               char *out, gsize out_len, const char *what, GError **error)
{
    const Onnx__AttributeProto *a = _dn_onnx_attr (n, name);
    g_strlcpy (out, def, out_len);
    if (a == NULL)
        return TRUE;
    if (!attr_type (a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "a string", what, error))
        return FALSE;
    if (a->s.len >= out_len || memchr (a->s.data, 0, a->s.len) != NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: the attribute \"%s\" is not one of the values import knows", what,
                     name);
        return FALSE;
    }
    memcpy (out, a->s.data, a->s.len);
    out[a->s.len] = '\0';
    return TRUE;
}
