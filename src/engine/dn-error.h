/* dn-error.h: the error domain of libdendrite.
 *
 * Every function that can fail because of its input (a file, a field, a
 * shape, memory) takes a GError ** as its last argument and returns FALSE
 * or NULL on failure. Messages name the file, field or layer at fault and
 * say what would fix it. g_assert is kept for programmer errors only.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DN_ERROR (dn_error_quark ())

typedef enum {
    DN_ERROR_IO,        /* a file could not be opened, read or written */
    DN_ERROR_FORMAT,    /* a file is not what it claims to be: magic, truncation, lying header */
    DN_ERROR_CONFIG,    /* an experiment/network field is missing, mistyped or out of range */
    DN_ERROR_SHAPE,     /* layers or tensors whose shapes do not connect */
    DN_ERROR_NOMEM,     /* an allocation that input asked for could not be made */
    DN_ERROR_NUMERIC,   /* NaN or infinite loss, diverged training */
    DN_ERROR_CANCELLED, /* the caller's cancel flag was raised */
    DN_ERROR_UNSUPPORTED,
} DnError;

GQuark dn_error_quark (void);

/* Allocates n_bytes or sets DN_ERROR_NOMEM naming `what`. Never aborts. */
gpointer dn_try_malloc0 (gsize n_bytes, const char *what, GError **error);

G_END_DECLS
