/* SDP offer/answer (see sdpneg.h). libre parses and encodes; we choose. */
#include "telephony/sip/sdpneg.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

const char *sdpneg_codec_name(enum sdpneg_codec c)
{
	return c == SDPNEG_PCMA ? "PCMA" : "PCMU";
}

int sdpneg_codec_parse(const char *name, enum sdpneg_codec *out)
{
	if (name && !strcasecmp(name, "PCMU")) {
		*out = SDPNEG_PCMU;
		return 0;
	}
	if (name && !strcasecmp(name, "PCMA")) {
		*out = SDPNEG_PCMA;
		return 0;
	}
	return -EINVAL;
}

static int add_formats(struct sdp_media *m, const struct sdpneg_cfg *cfg)
{
	int err = 0;
	for (unsigned i = 0; i < cfg->ncodecs && !err; i++) {
		const char *id = cfg->codecs[i] == SDPNEG_PCMA ? "8" : "0";
		err = sdp_format_add(NULL, m, false, id,
				     sdpneg_codec_name(cfg->codecs[i]), 8000, 1,
				     NULL, NULL, NULL, false, NULL);
	}
	if (!err) {
		char id[8];
		re_snprintf(id, sizeof(id), "%u", cfg->te_pt);
		err = sdp_format_add(NULL, m, false, id, "telephone-event",
				     8000, 1, NULL, NULL, NULL, false, "0-15");
	}
	return err;
}

int sdpneg_session(struct sdp_session **sessp, struct sdp_media **mediap,
		   const struct sdpneg_cfg *cfg, const struct sa *laddr,
		   uint16_t port)
{
	if (!sessp || !mediap || !cfg || !laddr || cfg->ncodecs == 0 ||
	    cfg->ncodecs > 2)
		return -EINVAL;
	struct sdp_session *sess = NULL;
	struct sdp_media *m = NULL;
	int err = sdp_session_alloc(&sess, laddr);
	if (!err)
		err = sdp_media_add(&m, sess, "audio", port, "RTP/AVP");
	if (!err)
		err = add_formats(m, cfg);
	if (err) {
		mem_deref(sess);
		return -err;
	}
	sdp_media_set_lattr(m, true, "ptime", "20");
	*sessp = sess;
	*mediap = m;
	return 0;
}

static bool is_ours(const struct sdpneg_cfg *cfg, const struct sdp_format *f,
		    enum sdpneg_codec *out)
{
	enum sdpneg_codec c;
	/* Static PTs may come without an rtpmap; names win when present. */
	if (f->name && f->name[0]) {
		if (sdpneg_codec_parse(f->name, &c))
			return false;
		if (f->srate && f->srate != 8000)
			return false;
	} else if (f->pt == 0) {
		c = SDPNEG_PCMU;
	} else if (f->pt == 8) {
		c = SDPNEG_PCMA;
	} else {
		return false;
	}
	for (unsigned i = 0; i < cfg->ncodecs; i++) {
		if (cfg->codecs[i] == c) {
			*out = c;
			return true;
		}
	}
	return false;
}

int sdpneg_apply(struct sdp_session *sess, struct sdp_media *m,
		 const struct sdpneg_cfg *cfg, const uint8_t *body, size_t len,
		 bool offer, struct sdpneg_result *res)
{
	if (!sess || !m || !cfg || !res || (!body && len))
		return -EINVAL;
	if (len == 0 || len > 16384)
		return -EBADMSG;
	struct mbuf *mb = mbuf_alloc(len);
	if (!mb)
		return -ENOMEM;
	mbuf_write_mem(mb, body, len);
	mb->pos = 0;

	/* Put back every local format a previous negotiation removed. */
	const struct list *ll = sdp_media_format_lst(m, true);
	if (list_count(ll) != cfg->ncodecs + 1) {
		while (!list_isempty(ll)) {
			struct sdp_format *f = list_ledata(list_head(ll));
			mem_deref(f);
		}
		int aerr = add_formats(m, cfg);
		if (aerr) {
			mem_deref(mb);
			return -aerr;
		}
	}

	int err = sdp_decode(sess, mb, offer);
	mem_deref(mb);
	if (err)
		return err == ENOMEM ? -ENOMEM : -EBADMSG;

	if (sdp_media_rport(m) == 0 || !sa_isset(sdp_media_raddr(m), SA_ADDR))
		return -EPROTO;

	bool found = false;
	enum sdpneg_codec chosen = SDPNEG_PCMU;
	struct le *le;
	for (le = list_head(sdp_media_format_lst(m, false)); le;
	     le = le->next) {
		const struct sdp_format *f = le->data;
		if (is_ours(cfg, f, &chosen)) {
			found = true;
			break;
		}
	}
	if (!found)
		return -EPROTO;

	const struct sdp_format *te = sdp_media_rformat(m, "telephone-event");

	/* Answer with the one codec we will use (plus telephone-event): no
	 * mid-call codec switching to handle. */
	le = list_head(sdp_media_format_lst(m, true));
	while (le) {
		struct sdp_format *f = le->data;
		le = le->next;
		if (!strcasecmp(f->name, "telephone-event")) {
			if (!te)
				mem_deref(f);
			continue;
		}
		enum sdpneg_codec c;
		if (sdpneg_codec_parse(f->name, &c) || c != chosen)
			mem_deref(f);
	}

	struct sdpneg_result r;
	memset(&r, 0, sizeof(r));
	r.codec = chosen;
	r.te_pt = te ? te->pt : -1;
	r.raddr = *sdp_media_raddr(m);
	/* libre keeps directions from our side: the remote's "sendonly"
	 * makes ours recvonly; sdp_media_dir() is what we may do. */
	enum sdp_dir dir = sdp_media_dir(m);
	r.send = (dir & SDP_SENDONLY) != 0;
	r.recv = (dir & SDP_RECVONLY) != 0;
	*res = r;
	return 0;
}

int sdpneg_encode(struct sdp_session *sess, bool offer, struct mbuf **mbp)
{
	int err = sdp_encode(mbp, sess, offer);
	return err ? -err : 0;
}
