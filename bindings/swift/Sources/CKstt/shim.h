/* The C interface of libkstt for Swift: the native API and the rustymimi-c compatible one. */
#include <kstt.h>
#include <mimi.h>
