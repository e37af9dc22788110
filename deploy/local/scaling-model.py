"""The scaling report of deploy/local/scaling: the measured table, and the model of docs/scaling.md fed with the
measured CPU per job of each stage, its predictions for this machine checked against the measurement.

Usage: scaling-model.py RUN_DIR CORES
"""

import json
import os
import sys

STAGES = ["gateway", "transformer", "save2db", "rabbitmq", "database"]


def load(run_dir, name):
    path = os.path.join(run_dir, f"{name}.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def main():
    run_dir, cores = sys.argv[1], int(sys.argv[2])
    names = ["tf-1core", "tf-2cores", "broker-1", "broker-3"]
    reports = {name: load(run_dir, name) for name in names}
    reports = {name: report for name, report in reports.items() if report}
    with open(os.path.join(run_dir, "database-server.txt")) as f:
        print(f"Database server: {f.read().strip()}; {cores} cores\n")

    print("| scenario | jobs/s (stored) | p50 ms | p99 ms | " + " | ".join(STAGES) + " | all stages | client |")
    print("|---|---|---|---|" + "---|" * (len(STAGES) + 2))
    for name, report in reports.items():
        cpu = report["cpu_ms_per_job"]
        cells = [f"{cpu.get(stage, 0):.1f}" for stage in STAGES]
        total = sum(cpu.get(stage, 0) for stage in STAGES)
        latency = report["submit_to_result_ms"]
        errors = sum(report["errors"].values())
        rate = f"{report['results_per_sec']:.1f} ({report['stored_per_sec']:.1f})"
        if errors:
            rate += f", {errors} errors"
        print(f"| {name} | {rate} | {latency['p50']:.0f} | {latency['p99']:.0f} | " + " | ".join(cells)
              + f" | {total:.1f} | {cpu.get('client', 0):.1f} |")
    print("\nCPU milliseconds per job, user + system, every thread of each process (rabbitmq: all nodes).")

    base = reports.get("broker-1") or next(iter(reports.values()))
    cpu = base["cpu_ms_per_job"]
    costs = {stage: cpu.get(stage, 0.0) for stage in STAGES}
    client = cpu.get("client", 0.0)
    total = sum(costs.values())
    print("\nThe model, from broker-1's CPU per job: a tier of c cores carries c x 1000 / (its ms per job) jobs/s.\n")
    print("| tier | ms per job | jobs/s per core | cores per transformer core |")
    print("|---|---|---|---|")
    for stage in STAGES:
        if costs[stage] <= 0:
            continue
        print(f"| {stage} | {costs[stage]:.1f} | {1000 / costs[stage]:.1f} | "
              f"{costs[stage] / costs['transformer']:.2f} |")
    if "broker-3" in reports:
        three = reports["broker-3"]["cpu_ms_per_job"].get("rabbitmq", 0.0)
        print(f"\nThree broker nodes cost {three:.1f} ms per job in all against one node's {costs['rabbitmq']:.1f} "
              f"({three / costs['rabbitmq']:.2f}x): each message is written by the leader and two followers.")

    # On one machine every process shares the cores, so the rate is at most what the cores give over the CPU every
    # stage and the load client spend per job. A transformer pinned to k of the C cores gets those k cores less the
    # share the other processes (unpinned, spread over all C) take of them: X * c_tf <= k * 1000 - X * (k / C) *
    # c_others. No parameter is fitted: the costs are broker-1's, the predictions are for the other scenarios too.
    others = total - costs["transformer"] + client
    shared = cores * 1000 / (total + client)
    print(f"\nPredicted from broker-1's costs against measured, on this machine ({cores} cores):\n")
    print("| scenario | cap from all the cores | cap from the transformer's cores | predicted | measured | "
          "measured / predicted |")
    print("|---|---|---|---|---|---|")
    for name, transformer_cores in [("tf-1core", 1), ("tf-2cores", 2), ("broker-1", cores)]:
        if name not in reports:
            continue
        own = transformer_cores * 1000 / (costs["transformer"] + transformer_cores / cores * others)
        predicted = min(shared, own)
        measured = reports[name]["results_per_sec"]
        print(f"| {name} | {shared:.1f} | {own:.1f} | {predicted:.1f} | {measured:.1f} | "
              f"{measured / predicted:.2f} |")
    print(f"\nReports: {run_dir}")


if __name__ == "__main__":
    main()
