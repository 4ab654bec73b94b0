/* dn-backend-cuda.c: choosing the CUDA backend when the build has one. */
#include "dn-backend.h"
#include "dn-error.h"

#include "dn-cuda-device.h"

DnBackend *dn_backend_cuda (GError **error)
{
    int n = dn_cuda_device_count ();
    if (n == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "no CUDA device is available (%s); use --device cpu", dn_cuda_last_error ());
        return NULL;
    }
    char name[256];
    unsigned long long mem = 0;
    if (dn_cuda_device_info (0, name, sizeof name, &mem) != 0)
        g_strlcpy (name, "a CUDA device", sizeof name);
    g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                 "found %s, but this version trains on the CPU only: the CUDA training kernels "
                 "are not part of it yet; use --device cpu",
                 name);
    return NULL;
}
