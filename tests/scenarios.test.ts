/**
 * The scenario corpus as tests: every scenario on the model engine, and on real QEMU where it is
 * installed, each against its golden transcript. Nothing is ever written here; to create or update a
 * golden run `npx blockcheck run --update PATH`.
 */
import { describe, it } from "vitest";
import { defineScenarioTests, loadScenarioSuite } from "../src/vitest/scenario-tests.js";
import { describeWithQemu } from "./support/qemu.js";

const suite = await loadScenarioSuite({ cwd: process.cwd() });

defineScenarioTests(suite, "model", { describe, it });
describeWithQemu("qemu engine", () => defineScenarioTests(suite, "qemu", { describe, it }));
