/* The CUDA backend when the project was built without nvcc. */
#include "dn-backend.h"
#include "dn-error.h"

DnBackend *dn_backend_cuda_device (int index, GError **error)
{
    (void) index;
    g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                 "this build has no CUDA backend: install the CUDA toolkit (nvcc) and "
                 "reconfigure with -Dcuda=enabled, or use the CPU backend");
    return NULL;
}

DnBackend *dn_backend_cuda (GError **error)
{
    return dn_backend_cuda_device (0, error);
}

const char *dn_backend_take_error (DnBackend *be)
{
    (void) be;
    return NULL;
}
