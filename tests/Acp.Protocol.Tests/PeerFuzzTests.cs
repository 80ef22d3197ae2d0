using System.Text;
using System.Text.Json;
using Acp.Protocol.JsonRpc;

namespace Acp.Protocol.Tests;

/// <summary>Hostile input never closes the connection: every valid request among it is answered.</summary>
public sealed class PeerFuzzTests
{
    private const int Lines = 3_000;

    [Fact]
    public async Task An_invalid_utf8_byte_inside_a_method_name_is_answered_and_the_peer_goes_on()
    {
        await using var peer = new RawPeer(Echo);

        await peer.SendBytesAsync([.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sess"u8, 0xFF, .. "ion/new\",\"params\":{}}\n"u8]);
        JsonElement error = await peer.ReceiveAsync();
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":2,"method":"echo","params":{"text":"still here"}}""");
        JsonElement next = await peer.ReceiveAsync();

        Assert.Equal(JsonRpcErrorCodes.InvalidRequest, error.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Equal(1, error.GetProperty("id").GetInt32());
        Assert.Equal("still here", next.GetProperty("result").GetProperty("text").GetString());
    }

    [Fact]
    public async Task Thousands_of_hostile_lines_between_valid_requests_leave_every_valid_request_answered()
    {
        var random = new Random(20261204);
        await using var peer = new RawPeer(Echo, maxMessageBytes: 64 * 1024);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        var input = new MemoryStream();
        for (int i = 0; i < Lines; i++)
        {
            byte[] hostile = Hostile(random, i);
            input.Write(hostile);
            input.WriteByte((byte)'\n');
            string id = $"v{i}";
            expected.Add(id);
            input.Write(Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":"{{{id}}}","method":"echo","params":{"text":"{{{id}}}"}}""" + "\n"));
        }

        Task sending = peer.SendBytesAsync(input.ToArray());
        var answered = new HashSet<string>(StringComparer.Ordinal);
        while (answered.Count < expected.Count)
        {
            JsonElement message = await peer.ReceiveAsync();
            Assert.Equal("2.0", message.GetProperty("jsonrpc").GetString());
            if (message.TryGetProperty("error", out JsonElement error))
            {
                string text = error.GetProperty("message").GetString()!;
                Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
                Assert.False(error.TryGetProperty("data", out JsonElement data) && data.GetRawText().Contains("   at ", StringComparison.Ordinal));
            }

            if (message.GetProperty("id") is { ValueKind: JsonValueKind.String } id && id.GetString() is { } name && expected.Contains(name))
            {
                Assert.True(answered.Add(name), $"{name} answered twice");
                Assert.Equal(name, message.GetProperty("result").GetProperty("text").GetString());
            }
        }

        await sending;
        await peer.SendLineAsync("""{"jsonrpc":"2.0","id":"last","method":"echo","params":{"text":"alive"}}""");
        JsonElement last;
        do
        {
            last = await peer.ReceiveAsync();
        }
        while (last.GetProperty("id").ValueKind != JsonValueKind.String || last.GetProperty("id").GetString() != "last");

        Assert.Equal("alive", last.GetProperty("result").GetProperty("text").GetString());
        Assert.False(peer.Running.IsCompleted);
    }

    private static byte[] Hostile(Random random, int i)
    {
        // Numeric ids: no corruption of these can become one of the valid requests' string ids.
        byte[] template = Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":{{{1_000_000 + i}}},"method":"echo","params":{"text":"h{{{i}}}"}}""");
        byte[] line = (i % 9) switch
        {
            // Truncated anywhere.
            0 => template[..random.Next(template.Length)],
            // Bytes flipped to anything.
            1 => Flip(random, template, 1 + random.Next(4)),
            // Invalid UTF-8 inside a string.
            2 => [.. template[..(template.Length - 4)], (byte)random.Next(0x80, 0x100), .. template[(template.Length - 4)..]],
            3 => [.. "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo"u8, (byte)(0xC0 + random.Next(2)), .. "\",\"params\":{\"text\":\"x\"}}"u8],
            // Deep nesting.
            4 => Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":{{{i}}},"method":"echo","params":{{{new string('[', random.Next(10, 5000))}}}"""),
            // Huge ids and names.
            5 => Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":{{{new string('9', random.Next(20, 400))}}},"method":"echo","params":{"text":"x"}}"""),
            6 => Encoding.UTF8.GetBytes($$$"""{"jsonrpc":"2.0","id":"{{{new string('i', random.Next(100, 20_000))}}}","method":"{{{new string('m', random.Next(100, 20_000))}}}","params":{}}"""),
            // Responses to requests never sent.
            7 => Encoding.UTF8.GetBytes(random.Next(3) switch
            {
                0 => $$$"""{"jsonrpc":"2.0","id":{{{random.Next()}}},"result":{"text":"nobody asked"}}""",
                1 => $$$"""{"jsonrpc":"2.0","id":"r{{{i}}}","error":{"code":-32000,"message":"nobody asked"}}""",
                _ => """{"jsonrpc":"2.0","id":null,"error":{"code":"x"}}""",
            }),
            // Random bytes.
            _ => RandomBytes(random),
        };

        // One hostile line each: a newline inside would make two.
        for (int k = 0; k < line.Length; k++)
        {
            if (line[k] == (byte)'\n')
            {
                line[k] = (byte)' ';
            }
        }

        return line;
    }

    private static byte[] Flip(Random random, byte[] template, int count)
    {
        byte[] copy = [.. template];
        for (int k = 0; k < count; k++)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }

    private static byte[] RandomBytes(Random random)
    {
        byte[] bytes = new byte[random.Next(1, 200)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static void Echo(JsonRpcPeer connection) => connection.AddRequestHandler(
        "echo", TestJsonContext.Default.EchoParams, TestJsonContext.Default.EchoResult, (p, _, _) => ValueTask.FromResult(new EchoResult(p.Text)));
}
