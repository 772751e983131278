#include <lzma.h>
#include <zlib.h>
#include <bzlib.h>
