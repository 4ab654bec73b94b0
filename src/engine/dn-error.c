#include "dn-error.h"

G_DEFINE_QUARK (dn - error - quark, dn_error)

gpointer dn_try_malloc0 (gsize n_bytes, const char *what, GError **error)
{
    gpointer p = g_try_malloc0 (n_bytes ? n_bytes : 1);
    if (p == NULL)
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "Out of memory: %s needs %.1f MB; use a smaller batch or network", what,
                     n_bytes / 1e6);
    return p;
}
