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

/* A user's value as a message shows it: in double quotes, cut to
 * DN_QUOTE_CHARS characters with "…", control characters and bidirectional
 * overrides written as \uXXXX and invalid UTF-8 as \xNN, so a hostile value
 * can neither flood a terminal nor rewrite it. NULL gives "(none)". Free with
 * g_free. Every message that echoes a name, key or path from a file uses it. */
#define DN_QUOTE_CHARS 60
char *dn_quote (const char *value);
/* dn_quote without the double quotes, for text that puts its own around the value
 * (the app's “%s”). NULL gives "(none)". */
char *dn_quote_inner (const char *value);

/* Names a user gives (layer names, experiment and run names) hold at most
 * DN_NAME_MAX_CHARS characters, none of them a control character, an escape
 * or a bidirectional override. */
#define DN_NAME_MAX_CHARS 128
/* Checks `name`; `what` says whose name it is ("file.json: layer 3: \"name\"").
 * as_folder: the name also becomes a folder name, so it cannot be empty,
 * "." or "..", contain '/' or a backslash, or start with '-'. */
gboolean dn_check_name (const char *name, gboolean as_folder, const char *what, GError **error);

G_END_DECLS
