using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Acp.GptOss.Tests.Support;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Tests.EndToEnd;

/// <summary>
/// The built agent on stdio, as an editor runs it, with <c>--model FILE</c>: real llama.cpp decoding generated
/// gpt-oss models with the real vocabulary, from the prompt's tokens to the updates on stdout.
/// </summary>
public sealed class ModelEndToEndTests
{
    private static readonly string[] s_greedy = ["--temperature", "0"];
    private static readonly Regex s_prefillStep = new(@"Prefill: \d+ of \d+ prompt tokens");
    private static readonly Regex s_generation = new(
        @"Inference gpt-oss session \S+ (?<outcome>\w+): prompt (?<prompt>\d+) tokens, (?<reused>\d+) from the cache, (?<prefilled>\d+) prefilled");

    [ModelFact]
    public async Task A_chain_model_s_final_answer_arrives_as_message_chunks_turn_after_turn()
    {
        await using AgentHarness agent = Start(TestModels.Chain("<|channel|>final<|message|>Hello world<|return|>"));
        string session = await agent.NewSessionAsync();

        (JsonElement first, List<JsonElement> firstUpdates) = await agent.PromptAsync(session, "Say hello.");
        (JsonElement second, List<JsonElement> secondUpdates) = await agent.PromptAsync(session, "Again, please.");

        Assert.Equal("end_turn", Updates.StopReason(first));
        Assert.Equal("Hello world", Updates.Text(firstUpdates, "agent_message_chunk"));
        Assert.Equal("end_turn", Updates.StopReason(second));
        Assert.Equal("Hello world", Updates.Text(secondUpdates, "agent_message_chunk"));
        JsonElement[] usage = [.. Updates.OfKind([.. firstUpdates, .. secondUpdates], "usage_update")];
        Assert.Equal(2, usage.Length);
        Assert.True(usage[1].GetProperty("used").GetInt32() > usage[0].GetProperty("used").GetInt32());
        Assert.Equal(8192, usage[0].GetProperty("size").GetInt32());
    }

    [ModelFact]
    public async Task Reasoning_that_never_ends_is_never_shown_and_the_turn_ends_at_the_token_budget()
    {
        await using AgentHarness agent = Start(TestModels.Chain("<|channel|>analysis<|message|>Secret plans, plans"), "--max-tokens", "24");
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "What are you thinking?");

        Assert.Equal("max_tokens", Updates.StopReason(response));
        Assert.Empty(Updates.OfKind(updates, "agent_message_chunk"));
        Assert.NotEmpty(Updates.OfKind(updates, "agent_thought_chunk"));
        Assert.DoesNotContain("plans", string.Join('\n', agent.Written.Select(w => w.GetRawText())), StringComparison.Ordinal);
    }

    [ModelFact]
    public async Task A_chain_model_s_tool_call_becomes_the_tool_call_flow_until_the_cap_on_model_calls()
    {
        await using AgentHarness agent = Start(
            TestModels.Chain("<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>"),
            "--max-turn-requests", "2");
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "Weather in Paris?");

        Assert.Equal("max_turn_requests", Updates.StopReason(response));
        JsonElement[] calls = [.. Updates.OfKind(updates, "tool_call")];
        JsonElement[] results = [.. Updates.OfKind(updates, "tool_call_update")];
        Assert.Equal(2, calls.Length);
        Assert.All(calls, c => Assert.Contains("get_weather", c.GetProperty("title").GetString(), StringComparison.Ordinal));
        Assert.Equal(["failed", "failed"], results.Select(r => r.GetProperty("status").GetString()));
        Assert.Equal(
            calls.Select(c => c.GetProperty("toolCallId").GetString()),
            results.Select(r => r.GetProperty("toolCallId").GetString()));
    }

    [ModelFact]
    public async Task A_chain_model_s_read_file_call_reads_the_workspace_file_and_its_text_reaches_the_client()
    {
        string workspace = Directory.CreateTempSubdirectory("chain-tools-").FullName;
        await File.WriteAllTextAsync(Path.Combine(workspace, "notes.txt"), "chain model was here\n");
        await using AgentHarness agent = Start(
            TestModels.Chain("<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{\"path\":\"notes.txt\"}<|call|>"),
            "--max-turn-requests", "2");
        JsonElement session = await agent.NewSessionAsync(workspace, new { });

        (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(
            session.GetProperty("sessionId").GetString()!, "What do my notes say?", _ => throw new InvalidOperationException("a read asks no permission"));

        Assert.Equal("max_turn_requests", Updates.StopReason(response));
        Assert.Empty(requests);
        JsonElement[] calls = [.. Updates.OfKind(updates, "tool_call")];
        Assert.Equal(2, calls.Length);
        Assert.All(calls, c => Assert.Equal(("read", "Read notes.txt"), (c.GetProperty("kind").GetString(), c.GetProperty("title").GetString())));
        JsonElement[] done = [.. Updates.OfKind(updates, "tool_call_update").Where(u => u.GetProperty("status").GetString() == "completed")];
        Assert.Equal(calls.Select(c => c.GetProperty("toolCallId").GetString()), done.Select(u => u.GetProperty("toolCallId").GetString()));
        Assert.All(done, u => Assert.Contains("chain model was here", u.GetProperty("content")[0].GetProperty("content").GetProperty("text").GetString(), StringComparison.Ordinal));
        Directory.Delete(workspace, recursive: true);
    }

    [ModelFact]
    public async Task Cancelling_the_prefill_of_a_long_prompt_answers_cancelled_and_the_next_prompt_is_answered_as_by_a_fresh_agent()
    {
        string model = TestModels.Random;
        string longPrompt = string.Join(' ', Enumerable.Range(0, 2000).Select(i => $"word{i}"));
        string[] options = ["--max-tokens", "16", "--log-level", "debug"];

        // The cancel is sent once the agent logs the first prefill chunk of the long prompt: it meets the prefill.
        await using AgentHarness agent = Start(model, options);
        string session = await agent.NewSessionAsync();
        int cancelled = await agent.SendPromptAsync(session, longPrompt);
        await agent.WaitForErrorLineAsync(line => s_prefillStep.IsMatch(line));
        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        (JsonElement cancelledResponse, _) = await agent.ResponseAsync(cancelled);
        Match aborted = s_generation.Match(await agent.WaitForErrorLineAsync(s_generation.IsMatch));
        (JsonElement next, List<JsonElement> nextUpdates) = await agent.PromptAsync(session, "Short question.");
        Match resumed = s_generation.Match(await agent.WaitForErrorLineAsync(s_generation.IsMatch));

        // The reference: the same conversation in a fresh agent, whose cancel lands while the model still loads.
        await using AgentHarness reference = Start(model, options);
        string referenceSession = await reference.NewSessionAsync();
        int referenceCancelled = reference.NextId();
        await reference.SendAsync([AgentHarness.Prompt(referenceCancelled, referenceSession, longPrompt), AgentHarness.Notification("session/cancel", new { sessionId = referenceSession })]);
        (JsonElement referenceCancelledResponse, _) = await reference.ResponseAsync(referenceCancelled);
        (JsonElement referenceNext, List<JsonElement> referenceUpdates) = await reference.PromptAsync(referenceSession, "Short question.");
        Match clean = s_generation.Match(await reference.WaitForErrorLineAsync(s_generation.IsMatch));

        Assert.Equal("cancelled", Updates.StopReason(cancelledResponse));
        Assert.Equal("cancelled", aborted.Groups["outcome"].Value);
        // llama.cpp's complaints about the computation it was asked to stop are debug lines, not errors.
        Assert.DoesNotContain(" fail Acp.GptOss.Inference.Llama: llama.cpp:", agent.Error, StringComparison.Ordinal);
        int decoded = int.Parse(aborted.Groups["prefilled"].Value, CultureInfo.InvariantCulture);
        Assert.InRange(decoded, 1, int.Parse(aborted.Groups["prompt"].Value, CultureInfo.InvariantCulture) - 1);
        Assert.Equal(decoded, int.Parse(resumed.Groups["reused"].Value, CultureInfo.InvariantCulture));
        Assert.Equal("cancelled", Updates.StopReason(referenceCancelledResponse));
        Assert.Equal("0", clean.Groups["reused"].Value);
        Assert.Equal(clean.Groups["prompt"].Value, resumed.Groups["prompt"].Value);
        Assert.Equal(Updates.StopReason(referenceNext), Updates.StopReason(next));
        Assert.Equal(Updates.Text(referenceUpdates, "agent_message_chunk"), Updates.Text(nextUpdates, "agent_message_chunk"));
        Assert.Equal(
            Updates.OfKind(referenceUpdates, "usage_update").Single().GetProperty("used").GetInt32(),
            Updates.OfKind(nextUpdates, "usage_update").Single().GetProperty("used").GetInt32());
    }

    [ModelTheory]
    [InlineData("truncated", "truncated")]
    [InlineData("not-gguf", "not a GGUF file")]
    [InlineData("llama-architecture", "a gpt-oss model is needed")]
    [InlineData("missing", "does not exist")]
    public async Task A_model_that_cannot_load_is_a_clear_error_for_each_prompt_and_the_agent_lives_on(string damage, string expected)
    {
        using var model = new TempFile($"-{damage}.gguf");
        WriteDamagedModel(model.Path, damage);
        await using AgentHarness agent = Start(model.Path);
        string session = await agent.NewSessionAsync();

        (JsonElement first, _) = await agent.PromptAsync(session, "Hello?");
        (JsonElement second, _) = await agent.PromptAsync(session, "Still there?");
        await agent.CloseInputAsync();
        await agent.Completion.WaitAsync(AgentHarness.Timeout);

        Assert.Equal(-32603, Updates.ErrorCode(first));
        Assert.Contains(expected, first.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(-32603, Updates.ErrorCode(second));
        Assert.Equal(0, agent.ExitCode);
    }

    [RealModelFact]
    public async Task A_real_gpt_oss_model_answers_a_short_question()
    {
        await using AgentHarness agent = Start(RealModelFactAttribute.ModelPath!, "--max-tokens", "512");
        string session = await agent.NewSessionAsync();
        await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "reasoning_effort", value = "low" });

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "What is 2 + 2? Answer with the number only.");

        Assert.Equal("end_turn", Updates.StopReason(response));
        string answer = Updates.Text(updates, "agent_message_chunk");
        Assert.Contains("4", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("<|", answer, StringComparison.Ordinal);
    }

    private static AgentHarness Start(string model, params string[] options) => AgentHarness.StartProcess(["--model", model, .. s_greedy, .. options]);

    private static void WriteDamagedModel(string path, string damage)
    {
        switch (damage)
        {
            case "truncated":
                using (var source = File.OpenRead(TestModels.Chain("<|channel|>final<|message|>Hello world<|return|>")))
                using (var target = File.Create(path))
                {
                    var half = new byte[source.Length / 2];
                    source.ReadExactly(half);
                    target.Write(half);
                }

                break;
            case "not-gguf":
                File.WriteAllText(path, "This is a text file that someone named model.gguf.\n");
                break;
            case "llama-architecture":
                new GgufWriter()
                    .Add("general.architecture", "llama")
                    .Add("tokenizer.ggml.tokens", ["a", "b"])
                    .AddTensor("token_embd.weight", [8, 2], GgmlType.F32, s => s.Write(new byte[64]))
                    .Write(path);
                break;
        }
    }
}

/// <summary>A fact that needs a real GPT-OSS GGUF, named by GPT_OSS_GGUF_PATH; skipped, saying so, without one.</summary>
internal sealed class RealModelFactAttribute : FactAttribute
{
    public RealModelFactAttribute()
    {
        Skip = ModelPath switch
        {
            null or "" => "Set GPT_OSS_GGUF_PATH to a gpt-oss GGUF (such as gpt-oss-20b) to run this test with a real model.",
            var path when !File.Exists(path) => $"GPT_OSS_GGUF_PATH names {path}, which does not exist.",
            _ => null,
        };
    }

    public static string? ModelPath => Environment.GetEnvironmentVariable("GPT_OSS_GGUF_PATH");
}
