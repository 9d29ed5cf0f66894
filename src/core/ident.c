/* ident: see ident.h. */
#include "core/ident.h"

#include <ctype.h>
#include <string.h>

int ident_utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned c = p[i];
		size_t n;
		unsigned min;

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			n = 1, min = 0x80, c &= 0x1f;
		else if ((c & 0xf0) == 0xe0)
			n = 2, min = 0x800, c &= 0x0f;
		else if ((c & 0xf8) == 0xf0)
			n = 3, min = 0x10000, c &= 0x07;
		else
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms and surrogates hide one text behind another. */
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

const char *ident_check_external_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return "must not be empty";
	if (n > IDENT_EXTERNAL_ID_MAX)
		return "is longer than 512 bytes";
	if (!ident_utf8_ok(s, n))
		return "must be UTF-8 text without control characters";
	return NULL;
}

const char *ident_check_email(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *at;

	if (n == 0)
		return "must not be empty";
	if (n > IDENT_EMAIL_MAX)
		return "is longer than 254 bytes";
	if (!ident_utf8_ok(s, n))
		return "must be UTF-8 text without control characters";
	at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || !at[1])
		return "is not an e-mail address";
	if (strpbrk(s, " \t<>()[],;:\\\"") || !strchr(at + 1, '.') ||
	    at[1] == '.' || s[n - 1] == '.')
		return "is not an e-mail address";
	return NULL;
}

const char *ident_check_group_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return "must not be empty";
	if (n > IDENT_GROUP_ID_MAX)
		return "is longer than 64 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && c != '.')
			return "may hold only letters, digits, '-', '_' and '.'";
	}
	return NULL;
}

const char *ident_check_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0)
		return "must not be empty";
	if (n > IDENT_NAME_MAX)
		return "is longer than 128 bytes";
	if (!ident_utf8_ok(s, n))
		return "must be UTF-8 text without control characters";
	return NULL;
}

void ident_email_normalize(char *s)
{
	char *at = strchr(s, '@');

	for (char *p = at ? at + 1 : s + strlen(s); *p; p++)
		*p = (char)tolower((unsigned char)*p);
}
