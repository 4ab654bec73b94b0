#include "dn-tensor.h"
#include "dn-error.h"

#include <string.h>

DnShape dn_shape_make (int ndim, const int64_t *d)
{
    DnShape s = {0};
    g_assert (ndim >= 0 && ndim <= DN_MAX_DIMS);
    s.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        s.d[i] = d[i];
    return s;
}

DnShape dn_shape_1d (int64_t a)
{
    return dn_shape_make (1, (int64_t[]){a});
}

DnShape dn_shape_2d (int64_t a, int64_t b)
{
    return dn_shape_make (2, (int64_t[]){a, b});
}

DnShape dn_shape_3d (int64_t a, int64_t b, int64_t c)
{
    return dn_shape_make (3, (int64_t[]){a, b, c});
}

DnShape dn_shape_4d (int64_t a, int64_t b, int64_t c, int64_t d)
{
    return dn_shape_make (4, (int64_t[]){a, b, c, d});
}

int64_t dn_shape_numel (const DnShape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= s->d[i];
    return n;
}

gboolean dn_shape_equal (const DnShape *a, const DnShape *b)
{
    if (a->ndim != b->ndim)
        return FALSE;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i])
            return FALSE;
    return TRUE;
}

char *dn_shape_to_string (const DnShape *s)
{
    GString *str = g_string_new ("(");
    for (int i = 0; i < s->ndim; i++)
        g_string_append_printf (str, "%s%" G_GINT64_FORMAT, i ? ", " : "", s->d[i]);
    g_string_append_c (str, ')');
    return g_string_free (str, FALSE);
}

DnTensor *dn_tensor_new (int64_t batch, const DnShape *shape, GError **error)
{
    int64_t per = dn_shape_numel (shape);
    if (batch < 0 || per < 0 || (per > 0 && batch > G_MAXINT64 / 4 / per)) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "a tensor of %" G_GINT64_FORMAT " x %" G_GINT64_FORMAT
                     " floats is too large for this machine",
                     batch, per);
        return NULL;
    }
    DnTensor *t = g_new0 (DnTensor, 1);
    int64_t n = batch * per;
    t->data = dn_try_malloc0 ((gsize) n * sizeof (float), "a tensor", error);
    if (t->data == NULL) {
        g_free (t);
        return NULL;
    }
    dn_tensor_view (t, t->data, batch, shape);
    t->owns_data = TRUE;
    return t;
}

void dn_tensor_free (DnTensor *t)
{
    if (t == NULL)
        return;
    if (t->owns_data)
        g_free (t->data);
    g_free (t);
}

int64_t dn_tensor_numel (const DnTensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->shape[i];
    return n;
}

DnShape dn_tensor_sample_shape (const DnTensor *t)
{
    return dn_shape_make (t->ndim - 1, t->shape + 1);
}

void dn_tensor_view (DnTensor *t, float *data, int64_t batch, const DnShape *shape)
{
    g_assert (shape->ndim < DN_MAX_DIMS);
    t->data = data;
    t->ndim = shape->ndim + 1;
    t->shape[0] = batch;
    for (int i = 0; i < shape->ndim; i++)
        t->shape[i + 1] = shape->d[i];
    t->device = DN_DEVICE_CPU;
    t->owns_data = FALSE;
}
