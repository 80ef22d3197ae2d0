using System.Text.Json;
using Acp.Protocol.JsonRpc;

namespace Acp.Protocol.Tests;

public sealed class JsonRpcPeerTests
{
    private static readonly TestJsonContext s_json = TestJsonContext.Default;

    [Fact]
    public async Task A_request_is_answered_with_its_id()
    {
        await using var peer = new RawPeer(Echo);

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":"a-1","method":"echo","params":{"text":"hi"}}""");

        JsonElement response = await peer.ReceiveAsync();
        Assert.Equal("a-1", response.GetProperty("id").GetString());
        Assert.Equal("hi", response.GetProperty("result").GetProperty("text").GetString());
        Assert.Equal("2.0", response.GetProperty("jsonrpc").GetString());
    }

    [Theory]
    [InlineData("{not json", null, JsonRpcErrorCodes.ParseError)]
    [InlineData("""[{"jsonrpc":"2.0","id":1,"method":"echo"}]""", null, JsonRpcErrorCodes.InvalidRequest)]
    [InlineData("42", null, JsonRpcErrorCodes.InvalidRequest)]
    [InlineData("""{"id":7,"method":"echo","params":{"text":"x"}}""", 7, JsonRpcErrorCodes.InvalidRequest)]
    [InlineData("""{"jsonrpc":"1.0","id":7,"method":"echo","params":{"text":"x"}}""", 7, JsonRpcErrorCodes.InvalidRequest)]
    [InlineData("""{"jsonrpc":"2.0","id":{"x":1},"method":"echo"}""", null, JsonRpcErrorCodes.InvalidRequest)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":5}""", 7, JsonRpcErrorCodes.InvalidRequest)]
    [InlineData("""{"jsonrpc":"2.0","id":7}""", 7, JsonRpcErrorCodes.InvalidRequest)]
    [InlineData("""{"jsonrpc":"2.0","id":null,"method":"echo","params":{"text":"x"}}""", null, JsonRpcErrorCodes.InvalidRequest)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"nope","params":{}}""", 7, JsonRpcErrorCodes.MethodNotFound)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"_ext/thing","params":{}}""", 7, JsonRpcErrorCodes.MethodNotFound)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"echo"}""", 7, JsonRpcErrorCodes.InvalidParams)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"echo","params":{"text":5}}""", 7, JsonRpcErrorCodes.InvalidParams)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"echo","params":{}}""", 7, JsonRpcErrorCodes.InvalidParams)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"echo","params":{"text":null}}""", 7, JsonRpcErrorCodes.InvalidParams)]
    [InlineData("""{"jsonrpc":"2.0","id":7,"method":"echo","params":[1]}""", 7, JsonRpcErrorCodes.InvalidParams)]
    public async Task Bad_input_gets_its_error_and_the_connection_goes_on(string line, int? id, int code)
    {
        await using var peer = new RawPeer(Echo);

        await peer.SendLineAsync(line);
        JsonElement error = await peer.ReceiveAsync();
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":99,"method":"echo","params":{"text":"still here"}}""");
        JsonElement next = await peer.ReceiveAsync();

        Assert.Equal(code, error.GetProperty("error").GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("error").GetProperty("message").GetString()));
        JsonElement errorId = error.GetProperty("id");
        if (id is null)
        {
            Assert.Equal(JsonValueKind.Null, errorId.ValueKind);
        }
        else
        {
            Assert.Equal(id, errorId.GetInt32());
        }

        Assert.Equal("still here", next.GetProperty("result").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Notifications_are_never_answered_even_when_unknown()
    {
        var seen = new List<string>();
        await using var peer = new RawPeer(c =>
        {
            Echo(c);
            c.AddNotificationHandler("note", s_json.EchoParams, (p, _) => seen.Add(p.Text));
        });

        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"unknown/thing","params":{}}""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"note","params":{"bad":true}}""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"note","params":{"text":"n1"}}""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"after"}}""");

        JsonElement first = await peer.ReceiveAsync();
        Assert.Equal(1, first.GetProperty("id").GetInt32());
        Assert.Equal(["n1"], seen);
    }

    [Fact]
    public async Task A_notification_reaches_its_handler_however_it_is_written_and_in_arrival_order()
    {
        var seen = new List<(string Text, long Sequence)>();
        await using var peer = new RawPeer(c =>
        {
            Echo(c);
            c.AddNotificationHandler("note", s_json.EchoParams, (p, context) => seen.Add((p.Text, context.Sequence)));
        }, maxMessageBytes: 4096);

        // The usual shape, then shapes the direct path leaves to StreamJsonRpc (an unknown member, a key twice, split
        // across two writes), then other orders, spacing and escapes: every one is delivered, in order.
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"note","params":{"text":"a"}}""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"note","params":{"text":"b"},"extra":1}""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"note","params":{"text":"x"},"params":{"text":"c"}}""");
        await peer.SendAsync("""{"jsonrpc":"2.0","method":"no""");
        await peer.SendLineAsync("""te","params":{"text":"d"}}""");
        await peer.SendLineAsync("""{ "params" : { "text" : "e" } , "method" : "n\u006fte" , "jsonrpc" : "2.0" }""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"note","params":{"text":"bad"}} trailing""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"note","params":{"nope":1}}""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"note","params":{"text":"f"}}""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"after"}}""");

        JsonElement parseError = await peer.ReceiveAsync();
        JsonElement answer = await peer.ReceiveAsync();
        Assert.Equal(-32700, parseError.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(1, answer.GetProperty("id").GetInt32());
        Assert.Equal(["a", "b", "c", "d", "e", "f"], seen.Select(s => s.Text));
        Assert.Equal(seen.Select(s => s.Sequence).Order(), seen.Select(s => s.Sequence));
    }

    [Fact]
    public async Task Framing_tolerates_blank_lines_crlf_and_a_last_line_without_newline()
    {
        await using var peer = new RawPeer(Echo);

        await peer.SendAsync("\n  \r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"text\":\"a\"}}\r\n");
        await peer.SendAsync("""{"jsonrpc":"2.0","id":2,"method":"echo","params":{"text":"b"}}""");
        JsonElement first = await peer.ReceiveAsync();
        await peer.CloseInputAsync();
        List<JsonElement> rest = await peer.ReceiveRestAsync();

        Assert.Equal("a", first.GetProperty("result").GetProperty("text").GetString());
        Assert.Equal("b", Assert.Single(rest).GetProperty("result").GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_line_over_the_limit_is_refused_and_skipped()
    {
        await using var peer = new RawPeer(Echo);

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":" """ + new string('x', 5000) + "\"}}");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":2,"method":"echo","params":{"text":"ok"}}""");

        JsonElement refused = await peer.ReceiveAsync();
        JsonElement next = await peer.ReceiveAsync();
        Assert.Equal(JsonRpcErrorCodes.InvalidRequest, refused.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(2, next.GetProperty("id").GetInt32());
    }

    [Fact]
    public async Task Handler_errors_become_error_responses()
    {
        await using var peer = new RawPeer(c =>
        {
            c.AddRequestHandler<EchoParams, EchoResult>("fail", s_json.EchoParams, s_json.EchoResult, (p, _, _) => p.Text == "rpc"
                ? throw new JsonRpcException(JsonRpcErrorCodes.ResourceNotFound, "Session not found", JsonDocument.Parse("""{"sessionId":"s"}""").RootElement)
                : throw new InvalidOperationException("boom"));
        });

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"fail","params":{"text":"rpc"}}""");
        JsonElement rpc = await peer.ReceiveAsync();
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":2,"method":"fail","params":{"text":"other"}}""");
        JsonElement other = await peer.ReceiveAsync();

        Assert.Equal(JsonRpcErrorCodes.ResourceNotFound, rpc.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal("s", rpc.GetProperty("error").GetProperty("data").GetProperty("sessionId").GetString());
        Assert.Equal(JsonRpcErrorCodes.InternalError, other.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Contains("boom", other.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_handler_can_call_the_peer_while_the_read_loop_goes_on()
    {
        await using var peer = new RawPeer(c =>
        {
            Echo(c);
            c.AddRequestHandler<EchoParams, EchoResult>("ask", s_json.EchoParams, s_json.EchoResult, async (p, _, ct) =>
            {
                EchoResult answer = await c.RequestAsync("client/question", p, s_json.EchoParams, s_json.EchoResult, ct);
                return new EchoResult("client said " + answer.Text);
            });
        });

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"ask","params":{"text":"q"}}""");
        JsonElement question = await peer.ReceiveAsync();
        // While "ask" waits for us, the connection still serves other requests.
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":2,"method":"echo","params":{"text":"meanwhile"}}""");
        JsonElement meanwhile = await peer.ReceiveAsync();
        await peer.SendLineAsync($$$"""{"jsonrpc":"2.0","id":{{{question.GetProperty("id").GetRawText()}}},"result":{"text":"yes"}}""");
        JsonElement answer = await peer.ReceiveAsync();

        Assert.Equal("client/question", question.GetProperty("method").GetString());
        Assert.Equal(2, meanwhile.GetProperty("id").GetInt32());
        Assert.Equal("client said yes", answer.GetProperty("result").GetProperty("text").GetString());
    }

    [Fact]
    public async Task The_peers_error_answer_is_thrown_to_the_caller()
    {
        JsonRpcException error = await ErrorThrownForAnswerAsync("""{"code":-32001,"message":"denied"}""");

        Assert.Equal((-32001, "denied"), (error.Code, error.Message));
    }

    [Theory]
    [InlineData(-32601)]
    [InlineData(-32602)]
    [InlineData(-32002)]
    public async Task Every_error_code_of_the_peer_is_thrown_to_the_caller_with_its_data(int code)
    {
        JsonRpcException error = await ErrorThrownForAnswerAsync("{\"code\":" + code + ",\"message\":\"no\",\"data\":{\"sessionId\":\"s\"}}");

        Assert.Equal((code, "no"), (error.Code, error.Message));
        Assert.Equal("s", error.Data?.GetProperty("sessionId").GetString());
    }

    // Inside a request of the client's, the peer asks the client a question; the client answers it with this error
    // object. Returns what the peer's own caller caught.
    private static async Task<JsonRpcException> ErrorThrownForAnswerAsync(string error)
    {
        var failure = new TaskCompletionSource<JsonRpcException>();
        await using var peer = new RawPeer(c => c.AddRequestHandler<EchoParams, EchoResult>("ask", s_json.EchoParams, s_json.EchoResult, async (p, _, ct) =>
        {
            try
            {
                await c.RequestAsync("client/question", p, s_json.EchoParams, s_json.EchoResult, ct);
            }
            catch (JsonRpcException e)
            {
                failure.SetResult(e);
            }

            return new EchoResult("done");
        }));

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"ask","params":{"text":"q"}}""");
        JsonElement question = await peer.ReceiveAsync();
        await peer.SendLineAsync("{\"jsonrpc\":\"2.0\",\"id\":" + question.GetProperty("id").GetRawText() + ",\"error\":" + error + "}");
        return await failure.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Cancel_request_cancels_the_handler_which_still_answers()
    {
        var started = new TaskCompletionSource();
        await using var peer = new RawPeer(c => c.AddRequestHandler<EchoParams, EchoResult>("slow", s_json.EchoParams, s_json.EchoResult, async (_, _, ct) =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, ct);
            return new EchoResult("never");
        }));

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":"s1","method":"slow","params":{"text":"x"}}""");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"$/cancel_request","params":{"requestId":"s1"}}""");

        JsonElement response = await peer.ReceiveAsync();
        Assert.Equal("s1", response.GetProperty("id").GetString());
        Assert.Equal(JsonRpcErrorCodes.RequestCancelled, response.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Cancelling_an_outbound_request_tells_the_peer_and_returns_at_once()
    {
        using var cancel = new CancellationTokenSource();
        var outcome = new TaskCompletionSource<Exception>();
        await using var peer = new RawPeer(c => c.AddRequestHandler<EchoParams, EchoResult>("ask", s_json.EchoParams, s_json.EchoResult, async (p, _, _) =>
        {
            try
            {
                await c.RequestAsync("client/question", p, s_json.EchoParams, s_json.EchoResult, cancel.Token);
            }
            catch (OperationCanceledException e)
            {
                outcome.TrySetResult(e);
            }

            return new EchoResult("gave up");
        }));

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"ask","params":{"text":"q"}}""");
        JsonElement question = await peer.ReceiveAsync();
        await cancel.CancelAsync();
        JsonElement cancelRequest = await peer.ReceiveAsync();
        JsonElement answer = await peer.ReceiveAsync();

        Assert.IsAssignableFrom<OperationCanceledException>(await outcome.Task);
        Assert.Equal("$/cancel_request", cancelRequest.GetProperty("method").GetString());
        Assert.Equal(question.GetProperty("id").GetInt64(), cancelRequest.GetProperty("params").GetProperty("requestId").GetInt64());
        Assert.Equal("gave up", answer.GetProperty("result").GetProperty("text").GetString());
        // A late answer to the abandoned request is ignored, and the connection goes on (the token stays cancelled).
        await peer.SendLineAsync($$$"""{"jsonrpc":"2.0","id":{{{question.GetProperty("id").GetRawText()}}},"result":{"text":"late"}}""");
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":2,"method":"ask","params":{"text":"q"}}""");
        JsonElement next = await peer.ReceiveAsync();
        Assert.Equal((2, "gave up"), (next.GetProperty("id").GetInt32(), next.GetProperty("result").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task End_of_input_cancels_running_handlers_and_writes_their_answers()
    {
        var started = new TaskCompletionSource();
        await using var peer = new RawPeer(c => c.AddRequestHandler<EchoParams, EchoResult>("slow", s_json.EchoParams, s_json.EchoResult, async (_, _, ct) =>
        {
            started.SetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
            }

            return new EchoResult("wound down");
        }));

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"slow","params":{"text":"x"}}""");
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await peer.CloseInputAsync();
        List<JsonElement> rest = await peer.ReceiveRestAsync();

        Assert.True(peer.Running.IsCompletedSuccessfully);
        Assert.Equal("wound down", Assert.Single(rest).GetProperty("result").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Notifications_queued_before_a_response_are_written_before_it()
    {
        await using var peer = new RawPeer(c => c.AddRequestHandler<EchoParams, EchoResult>("stream", s_json.EchoParams, s_json.EchoResult, async (p, _, _) =>
        {
            for (int i = 0; i < 100; i++)
            {
                c.Notify("progress", new EchoParams($"{i}"), s_json.EchoParams);
                if (i % 10 == 0)
                {
                    await Task.Yield();
                }
            }

            return new EchoResult("done");
        }));

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"stream","params":{"text":"x"}}""");
        var texts = new List<string>();
        for (int i = 0; i < 101; i++)
        {
            JsonElement message = await peer.ReceiveAsync();
            texts.Add(message.TryGetProperty("method", out _)
                ? message.GetProperty("params").GetProperty("text").GetString()!
                : "response:" + message.GetProperty("result").GetProperty("text").GetString());
        }

        Assert.Equal([.. Enumerable.Range(0, 100).Select(i => $"{i}"), "response:done"], texts);
    }

    [Fact]
    public async Task Notifications_sent_from_many_threads_all_reach_the_wire_with_nothing_after_them()
    {
        const int Threads = 4;
        const int Each = 2_500;
        await using var peer = new RawPeer(Echo);

        // Nothing is written after the last one: each burst's last line must be flushed by itself.
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < Each; i++)
            {
                peer.Connection.Notify("progress", new EchoParams($"{t}:{i}"), s_json.EchoParams);
            }
        })));
        var seen = new List<string>();
        for (int i = 0; i < Threads * Each; i++)
        {
            seen.Add((await peer.ReceiveAsync()).GetProperty("params").GetProperty("text").GetString()!);
        }

        for (int t = 0; t < Threads; t++)
        {
            // Each sender's own notifications keep their order.
            Assert.Equal(Enumerable.Range(0, Each).Select(i => $"{t}:{i}"), seen.Where(x => x.StartsWith($"{t}:", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task Messages_carry_their_arrival_order()
    {
        var order = new TaskCompletionSource<(long Request, long Notification)>();
        long requestSequence = 0;
        await using var peer = new RawPeer(c =>
        {
            c.AddRequestHandler<EchoParams, EchoResult>("r", s_json.EchoParams, s_json.EchoResult, (p, context, _) =>
            {
                Interlocked.Exchange(ref requestSequence, context.Sequence);
                return ValueTask.FromResult(new EchoResult(p.Text));
            });
            c.AddNotificationHandler("n", s_json.EchoParams, (_, context) => order.TrySetResult((Interlocked.Read(ref requestSequence), context.Sequence)));
        });

        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":1,"method":"r","params":{"text":"x"}}""");
        await peer.ReceiveAsync();
        await peer.SendLineAsync("""{"jsonrpc":"2.0","method":"n","params":{"text":"y"}}""");

        (long request, long notification) = await order.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(request > 0 && notification > request, $"request {request}, notification {notification}");
    }

    private static void Echo(JsonRpcPeer connection) =>
        connection.AddRequestHandler("echo", s_json.EchoParams, s_json.EchoResult, (p, _, _) => ValueTask.FromResult(new EchoResult(p.Text)));
}
