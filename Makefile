.PHONY: up down test bench status

up:      ## install what is missing, start everything, seed the demo coalition
	@bash scripts/up.sh

down:    ## stop what `make up` started
	@bash scripts/down.sh

test:    ## the whole suite against the real broker and database
	@bash scripts/test.sh

status:
	@bash scripts/infra.sh status; .venv/bin/python scripts/stack.py status

bench:   ## speed figures: RPC round trip, mentor search over 100,000 and a 10,000-row import through the gateway; matching engine vs greedy and the exact MILP (`bash scripts/bench.sh matching` for that part alone)
	@bash scripts/bench.sh
