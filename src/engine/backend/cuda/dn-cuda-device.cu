// dn-cuda-device.cu: CUDA device discovery for the backend selector.
#include "dn-cuda-device.h"

#include <cuda_runtime.h>
#include <string.h>

static cudaError_t last_error = cudaSuccess;

extern "C" int dn_cuda_device_count (void)
{
    int n = 0;
    last_error = cudaGetDeviceCount (&n);
    return last_error == cudaSuccess ? n : 0;
}

extern "C" int dn_cuda_device_info (int i, char *name, int name_len, unsigned long long *total_mem)
{
    cudaDeviceProp prop;
    last_error = cudaGetDeviceProperties (&prop, i);
    if (last_error != cudaSuccess)
        return -1;
    strncpy (name, prop.name, name_len - 1);
    name[name_len - 1] = '\0';
    *total_mem = prop.totalGlobalMem;
    return 0;
}

extern "C" const char *dn_cuda_last_error (void)
{
    return cudaGetErrorString (last_error);
}
