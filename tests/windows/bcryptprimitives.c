/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, for Wine 8.0 (Debian
 * 12), which lacks it: Rust's standard library (1.78 on) imports ProcessPrng
 * from it for its random numbers. This forwards to RtlGenRandom
 * (SystemFunction036), which Wine has. Built by packaging/windows/build.sh
 * --tests into the folder the test runner puts on Wine's PATH; never shipped
 * (real Windows 10 and 11 have the DLL).
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
