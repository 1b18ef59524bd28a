// Genesys Flow Script
const flow = {
  name: "AI-Powered Customer Service",
  version: "1.0",
  startState: "greeting",
  states: {
    greeting: {
      name: "Greeting",
      type: "message",
      properties: {
        message: "Welcome to our AI-powered customer service. How can I help you?"
      },
      transitions: {
        next: "getIntent"
      }
    },
    getIntent: {
      name: "Get Customer Intent",
      type: "aiIntent",
      properties: {
        aiEngine: "genesys-ai",
        confidenceThreshold: 0.7
      },
      transitions: {
        highConfidence: "processIntent",
        lowConfidence: "escalateToAgent"
      }
    },
    processIntent: {
      name: "Process Intent",
      type: "action",
      properties: {
        action: "processCustomerRequest"
      }
    }
  }
};
