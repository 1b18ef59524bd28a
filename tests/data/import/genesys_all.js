// A Genesys flow script in the seed's form, with every state type the
// importer knows: message, aiIntent, action, transfer, disconnect.
/* block comments, unquoted keys, 'single quotes' and trailing commas are
   all JavaScript object-literal syntax */
const flow = {
  name: 'Genesys All',
  version: "2.0",
  startState: "greeting",
  states: {
    greeting: {
      name: "Greeting",
      type: "message",
      properties: { message: "Welcome to Example Bank." },
      transitions: { next: "getIntent" },
    },
    getIntent: {
      name: "Get Customer Intent",
      type: "aiIntent",
      properties: {
        aiEngine: "genesys-ai",
        confidenceThreshold: 0.6,
        prompt: "How can I help you today?",
      },
      transitions: {
        highConfidence: "lookup",
        lowConfidence: "toQueue",
        noInput: "goodbye",
      },
    },
    lookup: {
      name: "Look up the customer",
      type: "action",
      properties: { action: "lookupCustomer", parameters: { source: "ivr" } },
      transitions: { next: "goodbye", error: "toQueue" },
    },
    toQueue: {
      name: "Transfer",
      type: "transfer",
      properties: { queue: "Support" },
      transitions: { failure: "goodbye" },
    },
    goodbye: {
      name: "Goodbye",
      type: "disconnect",
    },
  },
};
