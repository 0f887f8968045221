import { describe, expect, it } from "vitest";
import { automationFlags } from "../../../src/paywall/detectors/automation.js";

describe("automation detector", () => {
  it("finds the marks automation frameworks leave, each flag once", () => {
    expect(
      automationFlags({
        windowKeys: ["document", "cdc_adoQpoasnfa76pfcZLmcfl_Array", "cdc_adoQpoasnfa76pfcZLmcfl_Promise", "__playwright__binding__", "__pw_manual", "callPhantom", "_phantom", "domAutomation", "domAutomationController"],
        documentKeys: ["$cdc_asdjflasutopfhvcZLmcfl_", "__webdriver_script_fn"],
        documentAttributes: ["lang", "webdriver"],
      }),
    ).toEqual(["cdc_", "__playwright", "__pw_", "callPhantom", "_phantom", "domAutomation", "$cdc_", "__webdriver", "webdriver"]);
  });

  it("finds nothing on an ordinary page", () => {
    expect(automationFlags({ windowKeys: ["document", "location", "fetch", "gtag", "dataLayer", "_pw"], documentKeys: ["location"], documentAttributes: ["lang", "class"] })).toEqual([]);
  });
});
