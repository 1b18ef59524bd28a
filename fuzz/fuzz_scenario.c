/* Fuzz target: `voxgate simulate` scenario files. Whatever is accepted must
 * be consistent; whatever is refused must say where. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"
#include "sim/transport.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_scenario *sc = NULL;
	char err[SIM_ERR_MAX];
	int rc = sim_scenario_parse("fuzz.yaml", (const char *)data, size, &sc,
				    err);
	if (rc) {
		check(rc < 0 && sc == NULL);
		check(!strncmp(err, "fuzz.yaml", 9));
		return 0;
	}
	check(sc && sc->nturns >= 1 && sc->nturns <= SIM_TURNS_MAX);
	/* the target fits the transport it was checked against */
	char why[256];
	check(sc->transport != NULL &&
	      sc->transport->target_check(sc->target, why, sizeof(why)) == 0);
	check(sc->nparams <= SIM_PARAMS_MAX);
	for (size_t i = 0; i < sc->nparams; i++)
		check(sim_transport_param_known(sc->transport,
						sc->params[i].key) &&
		      sim_scenario_param(sc, sc->params[i].key) != NULL);
	for (size_t i = 0; i < sc->nturns; i++) {
		const struct sim_turn *t = &sc->turns[i];
		if (t->kind == SIM_TURN_SAY) {
			check(t->ntexts >= 1 && t->ntexts <= SIM_VARIANTS_MAX);
			const char *s = sim_scenario_text(sc, i, 7);
			check(s != NULL && *s);
		}
		if (t->kind == SIM_TURN_DTMF)
			check(strlen(t->dtmf) >= 1);
	}
	(void)sim_uri_is_loopback(sc->target);
	sim_scenario_destroy(sc);
	return 0;
}
