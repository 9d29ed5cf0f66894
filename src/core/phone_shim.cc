/*
 * phone_shim: the C face of libphonenumber behind phone.h.
 *
 * Invariants: no C++ exception crosses into C; the only shared state is
 * libphonenumber's own singleton, whose methods are const and lock their
 * caches, so every function here is safe from any thread; on error *out is
 * all zero bytes; on success e164 is '+' and 1..15 digits and normalises to
 * itself. Both are checked here rather than trusted: libphonenumber's length
 * metadata allows some 17-digit numbers, and its trunk-prefix stripping can
 * move a number whose E.164 keeps a leading 0.
 */
extern "C" {
#include "core/phone_int.h"
#include "lib/digitre.h"
#include "phone.h"
}

#include <phonenumbers/logger.h>
#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <cstring>
#include <list>
#include <string>
#include <vector>

namespace i18n {
namespace phonenumbers {
/* The library's compiled-in metadata. Exported by libphonenumber and
 * declared in its metadata.h, which Debian's package does not install. */
int metadata_size();
const void *metadata_get();
} // namespace phonenumbers
} // namespace i18n

using i18n::phonenumbers::NullLogger;
using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberDesc;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

/*
 * libphonenumber logs through one process-wide Logger. Swapping in a
 * NullLogger inside the same once-only initialisation that hands out the
 * singleton means no caller of ours can be logging while it is replaced.
 * The library's default is already silent; this keeps it so if a build
 * ever defaults to its StdoutLogger, which would write into our logs.
 */
const PhoneNumberUtil &phone_util()
{
	static PhoneNumberUtil *const util = [] {
		PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
		u->SetLogger(new NullLogger()); /* owned by the singleton */
		return u;
	}();
	return *util;
}

/* Metadata is keyed by upper-case codes; configs are typed by humans. */
bool phone_region_upper(const char *region, char up[PHONE_REGION_MAX + 1])
{
	if (region == nullptr)
		return false;
	for (int i = 0; i < PHONE_REGION_MAX; i++) {
		unsigned char c = (unsigned char)region[i];
		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return false; /* also stops at a short string's NUL */
		up[i] = (char)c;
	}
	up[PHONE_REGION_MAX] = '\0';
	return region[PHONE_REGION_MAX] == '\0';
}

bool phone_region_known(const char *up)
{
	/* 0 covers "ZZ" and anything without metadata. */
	return phone_util().GetCountryCodeForRegion(up) != 0;
}

bool phone_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * A control byte never belongs in a typed number, and a NUL would let what
 * we checked differ from what a C caller later prints or stores. White
 * space controls pass so a pasted "...\r\n" still reads.
 */
bool phone_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && !phone_is_space(c)) || c == 0x7f)
			return true;
	}
	return false;
}

phone_type phone_map_type(PhoneNumberUtil::PhoneNumberType t)
{
	switch (t) {
	case PhoneNumberUtil::FIXED_LINE:
		return PHONE_TYPE_FIXED_LINE;
	case PhoneNumberUtil::MOBILE:
		return PHONE_TYPE_MOBILE;
	case PhoneNumberUtil::FIXED_LINE_OR_MOBILE:
		return PHONE_TYPE_FIXED_LINE_OR_MOBILE;
	case PhoneNumberUtil::TOLL_FREE:
		return PHONE_TYPE_TOLL_FREE;
	case PhoneNumberUtil::PREMIUM_RATE:
		return PHONE_TYPE_PREMIUM_RATE;
	case PhoneNumberUtil::SHARED_COST:
		return PHONE_TYPE_SHARED_COST;
	case PhoneNumberUtil::VOIP:
		return PHONE_TYPE_VOIP;
	case PhoneNumberUtil::PERSONAL_NUMBER:
		return PHONE_TYPE_PERSONAL_NUMBER;
	case PhoneNumberUtil::PAGER:
		return PHONE_TYPE_PAGER;
	case PhoneNumberUtil::UAN:
		return PHONE_TYPE_UAN;
	case PhoneNumberUtil::VOICEMAIL:
		return PHONE_TYPE_VOICEMAIL;
	case PhoneNumberUtil::UNKNOWN:
		break;
	}
	return PHONE_TYPE_UNKNOWN;
}

/*
 * Line types of +1 numbers without ICU. GetNumberType() runs each region's
 * patterns through a fresh ICU matcher, some twenty of them for a US
 * number (the region search, then the type): about a quarter of a
 * status/set request's CPU. The same patterns, taken from the same
 * compiled-in metadata, are turned into digit automata once (lib/digitre),
 * and the region search and type order below are GetNumberType()'s own.
 * If any pattern does not compile, or the metadata cannot be read, the
 * library's GetNumberType() stays in use; the unit tests hold both to the
 * same answers.
 */
enum nanp_desc_kind {
	NANP_GENERAL, NANP_PREMIUM, NANP_TOLL_FREE, NANP_SHARED_COST,
	NANP_VOIP, NANP_PERSONAL, NANP_PAGER, NANP_UAN, NANP_VOICEMAIL,
	NANP_FIXED, NANP_MOBILE, NANP_DESC_N
};

struct nanp_desc {
	digitre *re = nullptr; /* none: matches nothing, as an empty pattern */
	std::vector<int> lens; /* none: any length */
};

struct nanp_region {
	digitre *lead = nullptr; /* the region's leading digits, if any */
	bool same_mobile_fixed = false;
	nanp_desc desc[NANP_DESC_N];
};

struct nanp_types {
	std::vector<nanp_region> regions; /* in GetRegionCodeForNumber order */
	bool ten_possible = false; /* IsPossibleNumber() of any 10 digits */
	bool ok = false;
};

const PhoneNumberDesc &nanp_pick(const PhoneMetadata &m, int kind)
{
	switch (kind) {
	case NANP_GENERAL: return m.general_desc();
	case NANP_PREMIUM: return m.premium_rate();
	case NANP_TOLL_FREE: return m.toll_free();
	case NANP_SHARED_COST: return m.shared_cost();
	case NANP_VOIP: return m.voip();
	case NANP_PERSONAL: return m.personal_number();
	case NANP_PAGER: return m.pager();
	case NANP_UAN: return m.uan();
	case NANP_VOICEMAIL: return m.voicemail();
	case NANP_FIXED: return m.fixed_line();
	default: return m.mobile();
	}
}

bool nanp_compile(const std::string &pattern, digitre **out)
{
	return digitre_compile(pattern.data(), pattern.size(), out) ==
	       DIGITRE_OK;
}

bool nanp_region_load(const PhoneMetadata &m, nanp_region *r)
{
	r->same_mobile_fixed = m.same_mobile_and_fixed_line_pattern();
	if (m.has_leading_digits() && !nanp_compile(m.leading_digits(), &r->lead))
		return false;
	for (int k = 0; k < NANP_DESC_N; k++) {
		const PhoneNumberDesc &d = nanp_pick(m, k);

		r->desc[k].lens.assign(d.possible_length().begin(),
				       d.possible_length().end());
		if (!d.national_number_pattern().empty() &&
		    !nanp_compile(d.national_number_pattern(), &r->desc[k].re))
			return false;
	}
	return true;
}

/* TestNumberLength() with the country's own lengths (its first region's):
 * ten digits are possible, and not "possible locally only". */
bool nanp_ten_possible(const PhoneMetadata &m)
{
	const auto &len = m.general_desc().possible_length();
	const auto &local = m.general_desc().possible_length_local_only();

	return len.size() > 0 && len.Get(0) != -1 &&
	       std::find(len.begin(), len.end(), 10) != len.end() &&
	       std::find(local.begin(), local.end(), 10) == local.end();
}

/* Built once, never freed: it lives as long as the library's singleton. */
nanp_types *nanp_load(const PhoneNumberUtil &util)
{
	nanp_types *t = new nanp_types();
	PhoneMetadataCollection all;
	std::list<std::string> order;

	if (!all.ParseFromArray(i18n::phonenumbers::metadata_get(),
				i18n::phonenumbers::metadata_size()))
		return t;
	util.GetRegionCodesForCountryCallingCode(1, &order);
	for (const std::string &id : order) {
		const PhoneMetadata *m = nullptr;

		for (const PhoneMetadata &cand : all.metadata())
			if (cand.id() == id && cand.country_code() == 1)
				m = &cand;
		t->regions.emplace_back();
		if (!m || !nanp_region_load(*m, &t->regions.back()))
			return t;
		if (t->regions.size() == 1)
			t->ten_possible = nanp_ten_possible(*m);
	}
	t->ok = !t->regions.empty();
	return t;
}

bool nanp_matches(const nanp_desc &d, const std::string &nsn)
{
	if (!d.lens.empty() &&
	    std::find(d.lens.begin(), d.lens.end(), (int)nsn.size()) ==
		    d.lens.end())
		return false;
	return d.re && digitre_full(d.re, nsn.data(), nsn.size());
}

/* GetNumberTypeHelper() for one region. */
PhoneNumberUtil::PhoneNumberType nanp_region_type(const nanp_region &r,
						  const std::string &nsn)
{
	static const struct {
		int kind;
		PhoneNumberUtil::PhoneNumberType type;
	} order[] = {
		{ NANP_PREMIUM, PhoneNumberUtil::PREMIUM_RATE },
		{ NANP_TOLL_FREE, PhoneNumberUtil::TOLL_FREE },
		{ NANP_SHARED_COST, PhoneNumberUtil::SHARED_COST },
		{ NANP_VOIP, PhoneNumberUtil::VOIP },
		{ NANP_PERSONAL, PhoneNumberUtil::PERSONAL_NUMBER },
		{ NANP_PAGER, PhoneNumberUtil::PAGER },
		{ NANP_UAN, PhoneNumberUtil::UAN },
		{ NANP_VOICEMAIL, PhoneNumberUtil::VOICEMAIL },
	};

	if (!nanp_matches(r.desc[NANP_GENERAL], nsn))
		return PhoneNumberUtil::UNKNOWN;
	for (const auto &o : order)
		if (nanp_matches(r.desc[o.kind], nsn))
			return o.type;
	if (nanp_matches(r.desc[NANP_FIXED], nsn))
		return r.same_mobile_fixed ||
				       nanp_matches(r.desc[NANP_MOBILE], nsn)
			       ? PhoneNumberUtil::FIXED_LINE_OR_MOBILE
			       : PhoneNumberUtil::FIXED_LINE;
	if (!r.same_mobile_fixed && nanp_matches(r.desc[NANP_MOBILE], nsn))
		return PhoneNumberUtil::MOBILE;
	return PhoneNumberUtil::UNKNOWN;
}

/* GetNumberType() of +1 and `nsn`: the first region that claims the
 * number (by leading digits, or else by having a type for it) types it. */
PhoneNumberUtil::PhoneNumberType nanp_type(const nanp_types &t,
					   const std::string &nsn)
{
	for (const nanp_region &r : t.regions) {
		if (r.lead) {
			if (digitre_prefix(r.lead, nsn.data(), nsn.size()))
				return nanp_region_type(r, nsn);
			continue;
		}
		PhoneNumberUtil::PhoneNumberType type = nanp_region_type(r, nsn);
		if (type != PhoneNumberUtil::UNKNOWN)
			return type;
	}
	return PhoneNumberUtil::UNKNOWN;
}

const nanp_types &nanp()
{
	static const nanp_types *const t = nanp_load(phone_util());
	return *t;
}

/* The line type, through the automata when the number is +1. */
PhoneNumberUtil::PhoneNumberType phone_number_type(const PhoneNumber &num)
{
	if (num.country_code() == 1 && !num.italian_leading_zero() &&
	    nanp().ok)
		return nanp_type(nanp(), std::to_string(num.national_number()));
	return phone_util().GetNumberType(num);
}

/*
 * "+1" and ten digits, the first 2-9: what API clients send most and what
 * Parse() would turn into country code 1 and those ten digits, only after
 * some ten regular expressions (about a quarter of a status/set request's
 * CPU). A national number starting 2-9 cannot begin with the NANP's
 * national prefix "1", has no Italian leading zero and no extension, so
 * nothing Parse() does beyond that applies. The unit tests hold the two
 * paths to the same answers.
 */
bool phone_nanp_e164(const std::string &text, PhoneNumber *num)
{
	if (text.size() != 12 || text[0] != '+' || text[1] != '1' ||
	    text[2] < '2' || text[2] > '9')
		return false;
	uint64_t national = 0;
	for (size_t i = 2; i < text.size(); i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		national = national * 10 + (uint64_t)(text[i] - '0');
	}
	num->set_country_code(1);
	num->set_national_number(national);
	return true;
}

phone_err phone_normalize_cc(const char *input, size_t len,
			     const char *default_region, phone_info *info)
{
	/* Bound the work before libphonenumber's regexes see anything. */
	if (len > PHONE_INPUT_MAX)
		return PHONE_ERR_TOO_LONG;

	char region[PHONE_REGION_MAX + 1];
	if (!phone_region_upper(default_region, region) ||
	    !phone_region_known(region))
		return PHONE_ERR_REGION;

	if (input == nullptr)
		len = 0;
	if (phone_has_control(input, len))
		return PHONE_ERR_PARSE;

	size_t start = 0;
	while (start < len && phone_is_space((unsigned char)input[start]))
		start++;
	if (start == len)
		return PHONE_ERR_EMPTY;

	std::string text(input + start, len - start);
	/*
	 * "00" is the international prefix in most of the world, so people
	 * paste it whatever our default region dials; libphonenumber would
	 * read it as the US national number "0033...".
	 */
	if (text.compare(0, 2, "00") == 0)
		text.replace(0, 2, "+");

	const PhoneNumberUtil &util = phone_util();
	PhoneNumber num;
	bool nanp_shape = phone_nanp_e164(text, &num);
	if (!nanp_shape) {
		switch (util.Parse(text, region, &num)) {
		case PhoneNumberUtil::NO_PARSING_ERROR:
			break;
		case PhoneNumberUtil::NOT_A_NUMBER:
			return PHONE_ERR_PARSE;
		default:
			/* Digits found, but no country code or length fits. */
			return PHONE_ERR_IMPOSSIBLE;
		}
	}

	/*
	 * IS_POSSIBLE_LOCAL_ONLY ("253-0000" in the US) is not accepted: it
	 * lacks the area code, so its "E.164" (+12530000) reaches nobody.
	 */
	if (!(nanp_shape && nanp().ten_possible) &&
	    util.IsPossibleNumberWithReason(num) !=
		    PhoneNumberUtil::IS_POSSIBLE)
		return PHONE_ERR_IMPOSSIBLE;

	/* Any extension is dropped here: SMS cannot reach one anyway. */
	std::string e164;
	util.Format(num, PhoneNumberUtil::E164, &e164);
	if (e164.size() < 2 || e164.size() > PHONE_E164_MAX || e164[0] != '+')
		return PHONE_ERR_IMPOSSIBLE;
	for (size_t i = 1; i < e164.size(); i++)
		if (e164[i] < '0' || e164[i] > '9')
			return PHONE_ERR_IMPOSSIBLE;

	/*
	 * The result is a storage key, so it must normalise to itself. It
	 * need not: "+84 0 0234 5678" keeps a leading 0 as +8402345678, and
	 * reading that again strips the 0 as a trunk prefix (+842345678).
	 * Only unassigned numbers have been seen to do this (no valid example
	 * number in the metadata does, trunk prefix added or not), so the
	 * refusal costs nothing real. Input already in E.164 would only
	 * repeat the same parse, so it skips the check.
	 */
	if (text != e164) {
		PhoneNumber again;
		std::string e164_again;
		if (util.Parse(e164, region, &again) !=
		    PhoneNumberUtil::NO_PARSING_ERROR)
			return PHONE_ERR_IMPOSSIBLE;
		util.Format(again, PhoneNumberUtil::E164, &e164_again);
		if (e164_again != e164)
			return PHONE_ERR_IMPOSSIBLE;
	}
	memcpy(info->e164, e164.data(), e164.size());
	info->e164[e164.size()] = '\0';

	/*
	 * IsValidNumber() is GetNumberType() != UNKNOWN for the number's own
	 * region, and each call repeats the region search (some 25 regions
	 * for +1); deriving validity from the type saves one search.
	 */
	PhoneNumberUtil::PhoneNumberType t = phone_number_type(num);
	info->type = phone_map_type(t);
	info->valid = t != PhoneNumberUtil::UNKNOWN;
	return PHONE_OK;
}

} /* namespace */

extern "C" phone_err phone_normalize(const char *input, size_t len,
				     const char *default_region,
				     phone_info *out)
{
	phone_info info;
	phone_err err;

	memset(&info, 0, sizeof info);
	try {
		err = phone_normalize_cc(input, len, default_region, &info);
	} catch (...) {
		/* Only std::bad_alloc is expected; the input is not at fault,
		 * but the caller must still get a refusal, not a crash. */
		err = PHONE_ERR_PARSE;
	}
	if (err != PHONE_OK)
		memset(&info, 0, sizeof info);
	if (out != nullptr)
		*out = info;
	return err;
}

extern "C" void phone_region_of(const char *e164,
				char out[PHONE_REGION_MAX + 1])
{
	out[0] = '\0';
	try {
		const PhoneNumberUtil &util = phone_util();
		PhoneNumber num;
		std::string rc;

		if (e164 == nullptr || util.Parse(e164, "ZZ", &num) !=
					       PhoneNumberUtil::NO_PARSING_ERROR)
			return;
		util.GetRegionCodeForNumber(num, &rc);
		/* "ZZ" (no region) and "001" (non-geographic) both read as "". */
		if (rc.size() == PHONE_REGION_MAX && rc != "ZZ")
			memcpy(out, rc.data(), PHONE_REGION_MAX + 1);
	} catch (...) {
		out[0] = '\0';
	}
}

extern "C" int phone_region_ok(const char *region)
{
	char up[PHONE_REGION_MAX + 1];

	try {
		return phone_region_upper(region, up) && phone_region_known(up);
	} catch (...) {
		return 0;
	}
}

extern "C" int phone_is_short_code(const char *s, size_t len)
{
	if (s == nullptr || len < 5 || len > 6)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

#define PHONE_STR_(x) #x
#define PHONE_STR(x) PHONE_STR_(x)

/* Phrases complete "the phone number ...", so API errors read naturally. */
extern "C" const char *phone_strerror(phone_err err)
{
	switch (err) {
	case PHONE_OK:
		return "is a phone number";
	case PHONE_ERR_EMPTY:
		return "is empty";
	case PHONE_ERR_TOO_LONG:
		return "is longer than " PHONE_STR(PHONE_INPUT_MAX) " bytes";
	case PHONE_ERR_PARSE:
		return "is not a phone number";
	case PHONE_ERR_IMPOSSIBLE:
		return "is not a possible phone number";
	case PHONE_ERR_REGION:
		return "has an unknown default region";
	}
	return "has an unknown error";
}

extern "C" const char *phone_type_name(phone_type type)
{
	switch (type) {
	case PHONE_TYPE_UNKNOWN:
		break;
	case PHONE_TYPE_FIXED_LINE:
		return "fixed_line";
	case PHONE_TYPE_MOBILE:
		return "mobile";
	case PHONE_TYPE_FIXED_LINE_OR_MOBILE:
		return "fixed_line_or_mobile";
	case PHONE_TYPE_TOLL_FREE:
		return "toll_free";
	case PHONE_TYPE_PREMIUM_RATE:
		return "premium_rate";
	case PHONE_TYPE_SHARED_COST:
		return "shared_cost";
	case PHONE_TYPE_VOIP:
		return "voip";
	case PHONE_TYPE_PERSONAL_NUMBER:
		return "personal_number";
	case PHONE_TYPE_PAGER:
		return "pager";
	case PHONE_TYPE_UAN:
		return "uan";
	case PHONE_TYPE_VOICEMAIL:
		return "voicemail";
	}
	return "unknown";
}

extern "C" int phone__nanp_both(const char *e164, phone_type *fast,
				phone_type *slow)
{
	try {
		PhoneNumber num;

		if (e164 == nullptr || !phone_nanp_e164(e164, &num))
			return -1;
		if (!nanp().ok)
			return 0;
		*fast = phone_map_type(nanp_type(nanp(), e164 + 2));
		*slow = phone_map_type(phone_util().GetNumberType(num));
		return 1;
	} catch (...) {
		return -1;
	}
}
