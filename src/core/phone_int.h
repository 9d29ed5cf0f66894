/*
 * phone_int: what the unit tests need to see of phone_shim.cc and
 * nothing else does.
 */
#ifndef OPTD_PHONE_INT_H
#define OPTD_PHONE_INT_H

#include "core/phone.h"

/*
 * The line type of `e164` ("+1" and ten digits, the first 2-9) through
 * the digit automata and through libphonenumber's GetNumberType(), for
 * holding the two to the same answers. Returns 1 with both filled, 0 when
 * the automata are not in use, -1 when `e164` is not of that shape.
 */
int phone__nanp_both(const char *e164, phone_type *fast, phone_type *slow);

#endif
